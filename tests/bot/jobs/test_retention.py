"""Old job images are pruned from disk; the job rows and recent images stay."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs.engine import Engine
from bot.jobs.models import JobCompleted, JobRequest
from bot.jobs.records import JobRecord
from bot.jobs.retention import DAY, Retention, prune
from bot.providers.toapis.provider import ToAPIsProvider
from tests.support.engines import running_engine

SANDBOX_TASK_SECONDS = 0.1  # how long the sandbox takes over a task


@pytest.fixture
async def engine(provider: ToAPIsProvider, tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(provider, tmp_path / "files") as engine:
        yield engine


async def test_images_older_than_the_retention_are_deleted_and_recent_ones_kept(
    engine: Engine, tmp_path: Path
) -> None:
    old, new = await _two_told_jobs(engine)
    old.finished_at = time.time() - 40 * DAY
    await engine.store.save(old)

    assert await prune(engine.store, engine.files, 30 * DAY) == 1
    assert await prune(engine.store, engine.files, 30 * DAY) == 0
    pruned, kept = await engine.get_job(old.id), await engine.get_job(new.id)
    assert pruned is not None and pruned.results == [] and pruned.notified
    assert kept is not None and len(kept.results) == 1
    assert not (tmp_path / "files" / old.id).exists()
    assert len(await engine.load_results(kept)) == 1


async def test_the_retention_loop_prunes_at_start_and_again_each_round_until_stopped(
    engine: Engine,
) -> None:
    old, new = await _two_told_jobs(engine)
    old.finished_at = time.time() - 40 * DAY
    await engine.store.save(old)
    retention = Retention(engine.store, engine.files, keep=30 * DAY, interval=0.05)
    retention.start()
    try:
        await _until_pruned(engine, old.id)  # the first round runs at once
        fresh = await engine.get_job(new.id)
        assert fresh is not None and fresh.results  # still within the retention
        fresh.finished_at = time.time() - 31 * DAY
        await engine.store.save(fresh)
        await _until_pruned(engine, new.id)  # a later round takes the newly old one
    finally:
        await retention.stop()
    after = await _told_job(engine, "after")
    after.finished_at = time.time() - 40 * DAY
    await engine.store.save(after)
    await asyncio.sleep(0.2)  # four rounds' worth: a stopped loop prunes nothing
    kept = await engine.get_job(after.id)
    assert kept is not None and kept.results


async def _two_told_jobs(engine: Engine) -> tuple[JobRecord, JobRecord]:
    old, new = [await _told_job(engine, prompt) for prompt in ("old", "new")]
    assert await engine.store.unfinished("cli") == []  # both were told
    return old, new


async def _told_job(engine: Engine, prompt: str) -> JobRecord:
    job_id = uuid.uuid4().hex
    events = [event async for event in engine.run(JobRequest(prompt=prompt), job_id=job_id)]
    assert isinstance(events[-1], JobCompleted)
    job = await engine.get_job(job_id)
    assert job is not None and job.notified and job.results
    return job


async def _until_pruned(engine: Engine, job_id: str) -> None:
    for _ in range(200):
        job = await engine.get_job(job_id)
        if job is not None and not job.results:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} was not pruned")


async def test_a_deleted_result_is_erased_at_once_and_remembered_as_deleted(
    engine: Engine, tmp_path: Path
) -> None:
    job = await _told_job(engine, "gone")
    assert (tmp_path / "files" / job.id).is_dir() and not job.deleted

    await engine.erase(job, by=42)

    stored = await engine.get_job(job.id)
    assert stored is not None and stored.deleted
    assert stored.delivery is not None and stored.delivery.deleted_by == 42
    assert stored.results == [] and stored.inputs == []
    assert not (tmp_path / "files" / job.id).exists()
    assert await prune(engine.store, engine.files, 0) == 0  # nothing left to prune
