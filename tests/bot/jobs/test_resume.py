"""A job survives the engine stopping at every state and is finished exactly once afterwards."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

from bot.jobs.engine import Engine
from bot.jobs.models import JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.providers.base import TaskSpec
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.support.engines import running_engine

SANDBOX_TASK_SECONDS = 0.6  # how long the sandbox takes over a task


class Recorder:
    """An observer that remembers every event; can be told to fail when told the outcome."""

    def __init__(self, *, fail_final: bool = False) -> None:
        self.events: dict[str, list[JobEvent]] = defaultdict(list)
        self.fail_final = fail_final
        self.finished = asyncio.Event()

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        self.events[job.id].append(event)
        if isinstance(event, JobCompleted | JobFailed):
            self.finished.set()
            if self.fail_final:
                raise RuntimeError("Discord is down")

    def finals(self, job_id: str) -> list[JobEvent]:
        return [e for e in self.events[job_id] if isinstance(e, JobCompleted | JobFailed)]


async def start(engine: Engine, recorder: Recorder) -> None:
    engine.observe("discord", recorder)


async def accept(engine: Engine, prompt: str = "a quiet harbour") -> JobRecord:
    resolved = engine.validate(JobRequest(prompt=prompt, n=2))
    return await engine.accept(resolved, origin="discord", user_id=1, guild_id=2, channel_id=3)


async def wait_for_state(
    engine: Engine, job_id: str, *states: JobState, timeout: float = 10
) -> JobRecord:
    async with asyncio.timeout(timeout):
        while True:
            job = await engine.get_job(job_id)
            assert job is not None
            if job.state in states:
                return job
            await asyncio.sleep(0.01)


async def finish_in_new_engine(
    provider: ToAPIsProvider, tmp_path: Path, job_id: str
) -> tuple[Recorder, JobRecord]:
    recorder = Recorder()
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, recorder)
        assert await engine.resume() == 1
        await asyncio.wait_for(recorder.finished.wait(), 15)
        job = await wait_for_state(engine, job_id, JobState.DELIVERED, JobState.FAILED)
    return recorder, job


async def test_a_job_stopped_before_its_task_existed_runs_once_after_a_restart(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, Recorder())
        sandbox.faults.latency = 1.0  # the first call is still in flight when we stop
        job = await accept(engine)
    sandbox.faults.latency = 0
    recorder, job = await finish_in_new_engine(provider, tmp_path, job.id)
    assert job.state is JobState.DELIVERED and job.notified
    assert len(recorder.finals(job.id)) == 1
    assert sandbox.stats().tasks == 1  # an interrupted request may arrive, but only one task exists


async def test_a_submitted_task_is_polled_again_not_resubmitted(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.faults.task_duration = 1.5
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, Recorder())
        job = await accept(engine)
        await wait_for_state(engine, job.id, JobState.SUBMITTED)
    recorder, job = await finish_in_new_engine(provider, tmp_path, job.id)
    assert sandbox.count("submit") == 1
    done = recorder.finals(job.id)
    assert len(done) == 1 and isinstance(done[0], JobCompleted) and len(done[0].images) == 2


async def test_an_interrupted_submit_that_arrived_is_found_by_its_client_reference(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        job = await _job_stuck_in(engine, JobState.SUBMITTING)
        # The submit reached ToAPIs, but the process died before saving the task id.
        await provider.submit(_spec(job))
    recorder, job = await finish_in_new_engine(provider, tmp_path, job.id)
    assert sandbox.count("submit") == 1
    assert isinstance(recorder.finals(job.id)[0], JobCompleted)


async def test_an_interrupted_submit_that_never_arrived_is_sent_once(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        job = await _job_stuck_in(engine, JobState.SUBMITTING)
    recorder, job = await finish_in_new_engine(provider, tmp_path, job.id)
    assert sandbox.count("submit") == 1
    assert isinstance(recorder.finals(job.id)[0], JobCompleted)


async def test_downloaded_results_are_delivered_after_a_restart_without_new_upstream_work(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    failing = Recorder(fail_final=True)
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, failing)
        job = await accept(engine)
        await asyncio.wait_for(failing.finished.wait(), 10)
        stored = await wait_for_state(engine, job.id, JobState.DOWNLOADED)
        assert not stored.notified
    calls_before = len(sandbox.requests)
    recorder, job = await finish_in_new_engine(provider, tmp_path, job.id)
    assert len(sandbox.requests) == calls_before
    completed = recorder.finals(job.id)
    assert len(completed) == 1 and isinstance(completed[0], JobCompleted)
    assert [len(image.data) > 0 for image in completed[0].images] == [True, True]


async def test_a_failure_the_member_was_not_told_is_told_after_a_restart(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.faults.fail_tasks = 1
    failing = Recorder(fail_final=True)
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, failing)
        job = await accept(engine)
        await asyncio.wait_for(failing.finished.wait(), 10)
    recorder, job = await finish_in_new_engine(provider, tmp_path, job.id)
    told = recorder.finals(job.id)
    assert len(told) == 1 and isinstance(told[0], JobFailed) and job.notified
    assert sandbox.count("submit") == 1


async def test_a_delivered_job_is_not_resumed(provider: ToAPIsProvider, tmp_path: Path) -> None:
    recorder = Recorder()
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, recorder)
        job = await accept(engine)
        await wait_for_state(engine, job.id, JobState.DELIVERED)
    async with running_engine(provider, tmp_path / "files", database=tmp_path / "db") as engine:
        await start(engine, Recorder())
        assert await engine.resume() == 0


async def _job_stuck_in(engine: Engine, state: JobState) -> JobRecord:
    """A persisted job in ``state``, as a crash would have left it (no task running)."""
    resolved = engine.validate(JobRequest(prompt="a quiet harbour", n=2))
    job = JobRecord(
        id="stuck0001",
        request=resolved.request,
        resolution=resolved.resolution,
        width=resolved.width,
        height=resolved.height,
        client_reference="easel-stuck0001",
        state=state,
        user_id=1,
        guild_id=2,
        channel_id=3,
    )
    await engine.store.add(job)
    return job


def _spec(job: JobRecord) -> TaskSpec:
    return TaskSpec(
        prompt=job.request.prompt,
        ratio=job.request.ratio,
        resolution=job.resolution,
        width=job.width,
        height=job.height,
        n=job.request.n,
        client_reference=job.client_reference,
    )
