"""Old job images are pruned from disk; the job rows and recent images stay."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from bot.jobs.models import JobCompleted, JobRequest
from bot.providers.catalog import toapis_model_spec
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.support.engines import running_engine


async def test_images_older_than_the_retention_are_deleted_and_recent_ones_kept(
    tmp_path: Path,
) -> None:
    async with Sandbox(task_duration=0.1) as sandbox, aiohttp.ClientSession() as session:
        provider = ToAPIsProvider(
            sandbox.base_url, SecretStr("k"), toapis_model_spec("gpt-image-2"), session=session
        )
        async with running_engine(provider, tmp_path / "files") as engine:
            for prompt in ("old", "new"):
                events = [event async for event in engine.run(JobRequest(prompt=prompt))]
                assert isinstance(events[-1], JobCompleted)
            assert await engine.store.unfinished("cli") == []  # both were told
            old, new = [await engine.get_job(job_id) for job_id in await _all_ids(engine)]
            assert old is not None and new is not None
            old.finished_at = time.time() - 40 * 86400
            await engine.store.save(old)

            assert await engine.prune(30 * 86400) == 1
            assert await engine.prune(30 * 86400) == 0
            pruned, kept = await engine.get_job(old.id), await engine.get_job(new.id)
            assert pruned is not None and pruned.results == [] and pruned.notified
            assert kept is not None and len(kept.results) == 1
            assert not (tmp_path / "files" / old.id).exists()
            assert len(await engine.load_results(kept)) == 1


async def _all_ids(engine: object) -> list[str]:
    database = engine.store.database  # type: ignore[attr-defined]
    rows = await database.fetch_all("SELECT id FROM jobs ORDER BY created_at")
    return [row["id"] for row in rows]
