"""Two processes on one database: a dead one's jobs are finished once by the other.

Each "process" is an Engine with its own lease owner, store connection and observer, over one
database (PostgreSQL, and the same code path on a SQLite file) and one upstream emulator. A
kill is what SIGKILL leaves behind: tasks gone mid-step, no save, no lease handed back, no more
heartbeats.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from pydantic import SecretStr

from bot.jobs.engine import Engine
from bot.jobs.intake import InputSource, pending_input
from bot.jobs.leases import LeaseConfig
from bot.jobs.models import InputImage, JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.queue import QueueLimits
from bot.jobs.records import Delivery, JobRecord, JobState
from bot.jobs.scheduler import PollPolicy
from bot.options import Ratio
from bot.providers.families import toapis_model_spec
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.support.engines import fast_config, running_engine
from tests.support.postgres import create_database, throwaway_server

LEASE = LeaseConfig(seconds=1.0, heartbeat=0.2)


class Recorder:
    """One process's Discord side: remembers every event it was asked to show."""

    def __init__(self) -> None:
        self.events: dict[str, list[JobEvent]] = defaultdict(list)

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        self.events[job.id].append(event)

    def finals(self, job_id: str) -> list[JobEvent]:
        return [e for e in self.events[job_id] if isinstance(e, JobCompleted | JobFailed)]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(task_duration=1.5) as sb:
        yield sb


@pytest.fixture
async def provider(sandbox: Sandbox) -> AsyncIterator[ToAPIsProvider]:
    async with aiohttp.ClientSession() as session:
        yield ToAPIsProvider(
            sandbox.base_url, SecretStr("k"), toapis_model_spec("gpt-image-2"), session=session
        )


async def process(
    provider: ToAPIsProvider,
    tmp_path: Path,
    database_url: str,
    *,
    lease: LeaseConfig = LEASE,
    poll: PollPolicy | None = None,
    source: InputSource | None = None,
    **queue: int,
) -> tuple[Engine, Recorder, asyncio.Task[None], asyncio.Event]:
    """An engine running in the background until ``stop`` is set; observer registered (and
    ``source`` reading attachments), resumed."""
    ready: asyncio.Queue[tuple[Engine, Recorder]] = asyncio.Queue()
    stop = asyncio.Event()

    async def run() -> None:
        async with running_engine(
            provider,
            tmp_path / "files",  # one shared volume for every process's files
            # Each process is someone else: a lease owner id of its own.
            fast_config(
                lease=lease.model_copy(update={"owner": uuid.uuid4().hex}),
                queue=QueueLimits(**queue),
                **({"poll": poll} if poll else {}),
            ),
            database=database_url,
        ) as engine:
            recorder = Recorder()
            engine.observe("discord", recorder)
            if source is not None:
                engine.read_inputs_with("discord", source)
            await engine.resume()
            ready.put_nowait((engine, recorder))
            await stop.wait()

    task = asyncio.create_task(run())
    engine, recorder = await asyncio.wait_for(ready.get(), 30)
    return engine, recorder, task, stop


async def kill(engine: Engine) -> None:
    """Leave the engine as SIGKILL would: every task gone, nothing saved or handed back."""
    keeper = engine.leases._task  # the heartbeat's task: stopped like a dead process's
    assert keeper is not None
    keeper.cancel()
    tasks = list(engine._running.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(keeper, *tasks, return_exceptions=True)
    await engine.watcher.stop()


async def accept(engine: Engine, *, user_id: int = 1, guild_id: int = 2) -> JobRecord:
    resolved = engine.validate(JobRequest(prompt="a quiet harbour", n=1))
    return await engine.accept(
        resolved, origin="discord", user_id=user_id, guild_id=guild_id, channel_id=3
    )


async def until(engine: Engine, job_id: str, *states: JobState, timeout: float = 20) -> JobRecord:
    async with asyncio.timeout(timeout):
        while True:
            job = await engine.get_job(job_id)
            assert job is not None
            if job.state in states and (job.notified or not job.state.finished):
                return job
            await asyncio.sleep(0.02)


async def test_a_dead_processs_polling_jobs_are_delivered_once_by_the_other(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    one, seen_by_one, task_one, _ = await process(provider, tmp_path, database_url)
    two, seen_by_two, task_two, stop_two = await process(provider, tmp_path, database_url)
    jobs = [await accept(one, user_id=n) for n in range(3)]
    for job in jobs:
        await until(one, job.id, JobState.SUBMITTED)
    await kill(one)
    killed_at = time.monotonic()
    for job in jobs:
        done = await until(two, job.id, JobState.DELIVERED)
        assert done.owner == two.leases.owner
    took = time.monotonic() - killed_at
    assert sandbox.count("submit") == 3  # polled by id, never submitted again
    for job in jobs:
        assert seen_by_one.finals(job.id) == []
        finals = seen_by_two.finals(job.id)
        assert len(finals) == 1 and isinstance(finals[0], JobCompleted)
    # Lease (1 s) + heartbeat (0.2 s) + what was left of the task and its download.
    assert took < LEASE.seconds + LEASE.heartbeat + 1.5 + 3.0
    stop_two.set()
    await task_two
    task_one.cancel()
    await asyncio.gather(task_one, return_exceptions=True)


async def test_a_dead_processs_queued_jobs_are_submitted_once_by_the_other(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    one, _, task_one, _ = await process(provider, tmp_path, database_url, global_jobs=1)
    two, seen_by_two, task_two, stop_two = await process(provider, tmp_path, database_url)
    jobs = [await accept(one, user_id=n) for n in range(3)]
    await until(one, jobs[0].id, JobState.SUBMITTED)
    assert (await until(one, jobs[2].id, JobState.QUEUED)).task_id is None
    await kill(one)
    for job in jobs:
        await until(two, job.id, JobState.DELIVERED)
        assert len(seen_by_two.finals(job.id)) == 1
    assert sandbox.count("submit") == 3
    stop_two.set()
    await task_two
    task_one.cancel()
    await asyncio.gather(task_one, return_exceptions=True)


async def test_a_stalled_owner_stops_once_its_job_is_taken_and_only_one_tells_the_member(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    sandbox.faults.task_duration = 2.5
    one, seen_by_one, task_one, stop_one = await process(provider, tmp_path, database_url)
    two, seen_by_two, task_two, stop_two = await process(provider, tmp_path, database_url)
    job = await accept(one)
    await until(one, job.id, JobState.SUBMITTED)
    keeper = one.leases._task  # only the heartbeat stalls; the job runs on
    assert keeper is not None
    keeper.cancel()
    await until(two, job.id, JobState.DELIVERED)
    await asyncio.sleep(0.5)  # give the stalled owner time to try to finish too
    finals = seen_by_one.finals(job.id) + seen_by_two.finals(job.id)
    assert len(finals) == 1 and seen_by_two.finals(job.id) == finals
    assert sandbox.count("submit") == 1
    for stop in (stop_one, stop_two):
        stop.set()
    await asyncio.gather(task_one, task_two)


async def test_a_clean_stop_hands_its_jobs_over_without_waiting_for_the_lease(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    slow = LeaseConfig(seconds=30.0, heartbeat=0.2)  # a lease that would outlive the test
    one, _, task_one, stop_one = await process(provider, tmp_path, database_url, lease=slow)
    two, seen_by_two, task_two, stop_two = await process(provider, tmp_path, database_url)
    job = await accept(one)
    await until(one, job.id, JobState.SUBMITTED)
    stop_one.set()
    await task_one  # a clean stop: the lease is handed back
    await until(two, job.id, JobState.DELIVERED, timeout=10)
    assert len(seen_by_two.finals(job.id)) == 1 and sandbox.count("submit") == 1
    stop_two.set()
    await task_two


async def test_a_restarted_process_rejoins_and_takes_new_work_without_duplicates(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    one, _, task_one, _ = await process(provider, tmp_path, database_url)
    two, seen_by_two, task_two, stop_two = await process(provider, tmp_path, database_url)
    first = await accept(one)
    await until(one, first.id, JobState.SUBMITTED)
    await kill(one)
    await until(two, first.id, JobState.DELIVERED)
    again, seen_again, task_again, stop_again = await process(provider, tmp_path, database_url)
    assert again.leases.owner != one.leases.owner
    second = await accept(again)
    await until(again, second.id, JobState.DELIVERED)
    assert len(seen_again.finals(second.id)) == 1 and seen_again.finals(first.id) == []
    assert len(seen_by_two.finals(first.id)) == 1 and seen_by_two.finals(second.id) == []
    assert sandbox.count("submit") == 2
    for stop in (stop_two, stop_again):
        stop.set()
    await asyncio.gather(task_two, task_again)
    task_one.cancel()
    await asyncio.gather(task_one, return_exceptions=True)


async def test_one_member_has_one_cap_across_processes(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    one, _, task_one, stop_one = await process(provider, tmp_path, database_url, per_member=1)
    two, _, task_two, stop_two = await process(provider, tmp_path, database_url, per_member=1)
    here = await accept(one, user_id=7, guild_id=100)
    await until(one, here.id, JobState.SUBMITTED)
    there = await accept(two, user_id=7, guild_id=200)  # another server, another process
    other = await accept(two, user_id=8, guild_id=200)  # someone else is not held back
    await until(two, other.id, JobState.SUBMITTED)
    held = await two.get_job(there.id)
    assert held is not None and held.state is JobState.QUEUED
    await until(one, here.id, JobState.DELIVERED)
    await until(two, there.id, JobState.DELIVERED)
    assert sandbox.count("submit") == 3
    for stop in (stop_one, stop_two):
        stop.set()
    await asyncio.gather(task_one, task_two)


async def test_processes_split_the_status_query_budget_between_them(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, postgres_url: str
) -> None:
    """Only where processes share a database (PostgreSQL): alone on SQLite, one has it all."""
    database_url = postgres_url
    sandbox.faults.task_duration = 30.0  # polled all along the measurement
    budget = PollPolicy(queries_per_minute=120, burst=2, first_delay=0, interval=0.05, jitter=0)
    one, _, task_one, stop_one = await process(provider, tmp_path, database_url, poll=budget)
    two, _, task_two, stop_two = await process(provider, tmp_path, database_url, poll=budget)
    for n in range(4):
        await accept(one, user_id=n)
        await accept(two, user_id=10 + n)
    async with asyncio.timeout(5):
        while one.leases.workers != 2 or two.leases.workers != 2:
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # past the first burst
    before, started = sandbox.count("poll"), time.monotonic()
    await asyncio.sleep(3.0)
    polls = sandbox.count("poll") - before
    seconds = time.monotonic() - started
    # 2 queries a second for the account; each process keeps to its half (plus one token).
    assert 1 <= polls <= 2 * seconds + 2
    assert one.watcher.scheduler.queries > 0 and two.watcher.scheduler.queries > 0
    await kill(one)
    async with asyncio.timeout(5):
        while two.leases.workers != 1:  # the dead process's share comes back
            await asyncio.sleep(0.05)
    for stop in (stop_one, stop_two):
        stop.set()
    task_one.cancel()
    await asyncio.gather(task_one, task_two, return_exceptions=True)


async def test_a_dead_processs_job_cut_off_mid_submit_is_looked_up_not_submitted_again(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    sandbox.add_fault("timeout", "submit", after=True, hang=30)  # sent; the answer never comes
    one, seen_by_one, task_one, _ = await process(provider, tmp_path, database_url)
    two, seen_by_two, task_two, stop_two = await process(provider, tmp_path, database_url)
    job = await accept(one)
    await until(one, job.id, JobState.SUBMITTING)
    async with asyncio.timeout(5):
        while sandbox.count("submit") == 0:
            await asyncio.sleep(0.02)
    await kill(one)
    done = await until(two, job.id, JobState.DELIVERED)
    assert done.owner == two.leases.owner and done.task_id
    assert sandbox.count("submit") == 1  # found by its client reference, never sent twice
    assert seen_by_one.finals(job.id) == [] and len(seen_by_two.finals(job.id)) == 1
    stop_two.set()
    await task_two
    task_one.cancel()
    await asyncio.gather(task_one, return_exceptions=True)


class Attachments:
    """Where members' attachments are read from; ``hang`` keeps every read waiting."""

    def __init__(self, *, hang: bool = False) -> None:
        self.reads: list[str] = []
        self.hang = hang

    async def read_input(self, url: str, filename: str) -> bytes:
        self.reads.append(url)
        if self.hang:
            await asyncio.Event().wait()  # a download that never ends (until the process dies)
        out = io.BytesIO()
        Image.new("RGB", (640, 360), "teal").save(out, "PNG")
        return out.getvalue()


async def test_a_dead_processs_job_still_receiving_its_attachments_is_read_again_and_run_once(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> None:
    stuck, working = Attachments(hang=True), Attachments()
    one, seen_by_one, task_one, _ = await process(provider, tmp_path, database_url, source=stuck)
    two, seen_by_two, task_two, stop_two = await process(
        provider, tmp_path, database_url, source=working
    )
    request = JobRequest(
        prompt="a red door",
        edit=True,
        ratio=Ratio.AUTO,
        references=(InputImage(filename="image1", data=b""),),
    )
    job = await one.accept(
        one.validate(request),
        origin="discord",
        pending=[pending_input("door.png", "https://cdn/door.png", "image/png")],
        user_id=1,
        guild_id=2,
        channel_id=3,
        delivery=Delivery(application_id=9),
    )
    async with asyncio.timeout(5):
        while not stuck.reads:  # the owner is reading the attachment when it dies
            await asyncio.sleep(0.02)
    assert (await until(one, job.id, JobState.RECEIVING)).owner == one.leases.owner
    await kill(one)
    done = await until(two, job.id, JobState.DELIVERED)
    assert done.owner == two.leases.owner and working.reads == ["https://cdn/door.png"]
    assert done.inputs[0].path and done.inputs[0].source_url is None
    assert seen_by_one.finals(job.id) == []
    finals = seen_by_two.finals(job.id)
    assert len(finals) == 1 and isinstance(finals[0], JobCompleted), finals
    assert sandbox.count("submit") == 1
    stop_two.set()
    await task_two
    task_one.cancel()
    await asyncio.gather(task_one, return_exceptions=True)


@pytest.mark.usefixtures("postgres_server")  # skipped with it when EASEL_SKIP_POSTGRES=1
async def test_jobs_survive_a_postgresql_restart_under_a_running_engine(
    provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.faults.task_duration = 2.0
    with throwaway_server(durable=True) as server:
        url = await create_database(server)
        one, seen, task, stop = await process(provider, tmp_path, url)
        jobs = [await accept(one, user_id=n) for n in range(3)]
        for job in jobs:
            await until(one, job.id, JobState.SUBMITTED)
        await asyncio.to_thread(server.restart, "immediate")  # every connection is cut
        for job in jobs:
            await until(one, job.id, JobState.DELIVERED)
            assert len(seen.finals(job.id)) == 1
        assert sandbox.count("submit") == 3
        stop.set()
        await task
