"""A member who cannot be reached is tried again while the engine runs, then given up on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.jobs.engine import Engine
from bot.jobs.fanout import UndeliverableError
from bot.jobs.models import JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.sandbox.server import Sandbox
from tests.support.engines import fast_config, running_engine
from tests.support.providers import toapis_provider


class Unreachable:
    """An observer whose final message fails ``failures`` times (None: always)."""

    def __init__(self, failures: int | None) -> None:
        self.failures = failures
        self.tries = 0
        self.told: list[JobEvent] = []

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        if not isinstance(event, JobCompleted | JobFailed):
            return
        self.tries += 1
        if self.failures is None or self.tries <= self.failures:
            raise UndeliverableError("cannot post in <#3> (Missing Permissions)")
        self.told.append(event)


class Hooks:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, job: JobRecord, event: JobCompleted | JobFailed) -> None:
        self.seen.append((event.kind, event.failure if isinstance(event, JobFailed) else ""))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    config = fast_config(delivery_attempts=4, delivery_backoff=0.02)
    async with (
        Sandbox(task_duration=0.1) as sandbox,
        aiohttp.ClientSession() as session,
    ):
        provider = toapis_provider(sandbox, session)
        async with running_engine(provider, tmp_path, config) as running:
            yield running


async def run_to_the_end(engine: Engine, observer: Unreachable, hooks: Hooks) -> JobRecord:
    engine.observe("discord", observer)
    engine.on_finished(hooks)
    resolved = engine.validate(JobRequest(prompt="a kite"))
    job = await engine.accept(resolved, origin="discord", user_id=1, guild_id=2, channel_id=3)
    async with asyncio.timeout(10):
        while True:
            stored = await engine.get_job(job.id)
            assert stored is not None
            if stored.notified:
                return stored
            await asyncio.sleep(0.02)


async def test_a_member_unreachable_for_a_while_is_told_once_reachable_again(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    observer, hooks = Unreachable(failures=2), Hooks()
    with caplog.at_level(logging.INFO):
        job = await run_to_the_end(engine, observer, hooks)
    assert job.state is JobState.DELIVERED and observer.tries == 3
    assert [event.kind for event in observer.told] == ["completed"]
    assert hooks.seen == [("completed", "")]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_member_never_reachable_is_given_up_on_as_undeliverable(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    observer, hooks = Unreachable(failures=None), Hooks()
    with caplog.at_level(logging.INFO):
        job = await run_to_the_end(engine, observer, hooks)
    assert observer.tries == 4, "bounded: delivery_attempts tries, then it stops"
    assert job.state is JobState.FAILED and job.failure_kind == "undeliverable"
    reason = str(job.failure_reason)
    assert job.failure_reason is not None and "Missing Permissions" in reason
    assert "/show" in reason and len(job.results) == 1, "the images are kept"
    assert job.delivery is None or job.delivery.interaction_token is None
    assert hooks.seen == [("completed", ""), ("failed", "undeliverable")], "admins hear of it"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await engine.resume() == 0, "given up: a restart does not try again"


async def test_waits_between_tries_grow(engine: Engine) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    engine.events._sleep = sleep  # type: ignore[attr-defined]  # record, do not wait
    await run_to_the_end(engine, Unreachable(failures=None), Hooks())
    assert sleeps == pytest.approx([0.02, 0.04, 0.08])
