"""Job monitors (metrics) hear of every job accepted and told, and can never break a job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot.jobs.engine import Engine
from bot.jobs.models import JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.sandbox.server import Sandbox
from tests.support.engines import fast_config, running_engine
from tests.support.providers import toapis_provider

SANDBOX_TASK_SECONDS = 0.1  # how long the sandbox takes over a task


class Recorder:
    """A monitor that writes down what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, bool | None]] = []

    def job_accepted(self, job: JobRecord) -> None:
        self.heard.append(("accepted", job.id, None))

    def job_told(self, job: JobRecord, event: JobCompleted | JobFailed, *, delivered: bool) -> None:
        self.heard.append((event.kind, job.id, delivered))


class Broken:
    """A monitor with a bug."""

    def job_accepted(self, job: JobRecord) -> None:
        raise RuntimeError("monitor bug")

    def job_told(self, job: JobRecord, event: JobCompleted | JobFailed, *, delivered: bool) -> None:
        raise RuntimeError("monitor bug")


class Member:
    """The origin's observer; ``fail_final`` makes telling the outcome fail."""

    def __init__(self, *, fail_final: bool = False) -> None:
        self.fail_final = fail_final
        self.final = asyncio.Event()

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        if isinstance(event, JobCompleted | JobFailed):
            self.final.set()
            if self.fail_final:
                raise RuntimeError("Discord is down")


async def run_one(engine: Engine, member: Member) -> JobRecord:
    engine.observe("discord", member)
    job = await engine.accept(
        engine.validate(JobRequest(prompt="a harbour")), origin="discord", user_id=1, guild_id=2
    )
    await asyncio.wait_for(member.final.wait(), 10)
    while engine.active_jobs:
        await asyncio.sleep(0.01)
    return job


async def test_a_monitor_hears_acceptance_then_the_delivered_outcome(engine: Engine) -> None:
    recorder = Recorder()
    engine.monitor(recorder)

    job = await run_one(engine, Member())

    assert recorder.heard == [("accepted", job.id, None), ("completed", job.id, True)]


async def test_an_outcome_the_member_could_not_be_told_is_heard_as_undelivered(
    tmp_path: Path,
) -> None:
    """Told once, after the engine gave up trying (``delivery_attempts``): undeliverable."""
    config = fast_config(delivery_attempts=2, delivery_backoff=0.01)
    async with Sandbox(task_duration=0.1) as sandbox, aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        async with running_engine(provider, tmp_path, config) as engine:
            recorder = Recorder()
            engine.monitor(recorder)
            job = await run_one(engine, Member(fail_final=True))
            stored = await engine.get_job(job.id)

    assert recorder.heard[-1] == ("failed", job.id, False)
    assert [kind for kind, _, _ in recorder.heard].count("failed") == 1
    assert stored is not None and stored.failure_kind == "undeliverable" and stored.notified


async def test_a_broken_monitor_is_logged_and_the_job_still_delivers(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    engine.monitor(Broken())
    recorder = Recorder()
    engine.monitor(recorder)

    job = await run_one(engine, Member())

    stored = await engine.get_job(job.id)
    assert stored is not None and stored.state is JobState.DELIVERED
    assert [kind for kind, _, _ in recorder.heard] == ["accepted", "completed"]
    assert caplog.text.count("a monitor failed") == 2
