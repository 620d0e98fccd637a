"""The poll scheduler: one budget for every task, 429 pauses, backoff, faster polls near the end."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict

import pytest

from bot.errors import RateLimitedError, TaskNotFoundError, TransientUpstreamError
from bot.jobs.scheduler import PollPolicy, PollScheduler
from bot.providers.base import TaskSnapshot, TaskState


class FakeUpstream:
    """Tasks that finish after ``polls_to_finish`` polls; scripted errors per task."""

    def __init__(self, polls_to_finish: int = 3) -> None:
        self.polls_to_finish = polls_to_finish
        self.calls: list[tuple[float, str]] = []
        self.count: dict[str, int] = defaultdict(int)
        self.errors: dict[str, list[Exception]] = defaultdict(list)

    async def poll(self, task_id: str) -> TaskSnapshot:
        self.calls.append((time.monotonic(), task_id))
        if self.errors[task_id]:
            raise self.errors[task_id].pop(0)
        self.count[task_id] += 1
        done = self.count[task_id] >= self.polls_to_finish
        progress = min(100, 100 * self.count[task_id] // self.polls_to_finish)
        return TaskSnapshot(
            task_id=task_id,
            state=TaskState.COMPLETED if done else TaskState.RUNNING,
            status="completed" if done else "in_progress",
            progress=progress,
        )


def steady(interval: float, **changes: float) -> PollPolicy:
    """Polls every ``interval`` seconds from the start, no jitter, a budget that never binds."""
    fields: dict[str, float] = {
        "first_delay": 0,
        "interval": interval,
        "near_done_interval": interval,
        "jitter": 0,
        "queries_per_minute": 60_000,
    }
    return PollPolicy.model_validate({**fields, **changes})


async def drain(scheduler: PollScheduler, task_id: str) -> list[TaskSnapshot]:
    return [snapshot async for snapshot in scheduler.watch(task_id)]


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


async def run(scheduler: PollScheduler, task_ids: list[str]) -> list[list[TaskSnapshot]]:
    await scheduler.start()
    try:
        return await asyncio.wait_for(asyncio.gather(*(drain(scheduler, t) for t in task_ids)), 20)
    finally:
        await scheduler.stop()


async def test_every_task_is_followed_to_completion(upstream: FakeUpstream) -> None:
    results = await run(PollScheduler(upstream.poll, steady(0.01)), [f"t{i}" for i in range(5)])
    assert all(snapshots[-1].state is TaskState.COMPLETED for snapshots in results)
    assert all(upstream.count[f"t{i}"] == 3 for i in range(5))


async def test_the_query_rate_never_exceeds_the_budget(upstream: FakeUpstream) -> None:
    upstream.polls_to_finish = 4
    policy = steady(0.001, queries_per_minute=1200, burst=5)  # 20 queries a second
    await run(PollScheduler(upstream.poll, policy), [f"t{i}" for i in range(20)])
    times = [at for at, _ in upstream.calls]
    assert len(times) == 80
    span = times[-1] - times[0]
    assert span >= (80 - 5) / 20 * 0.95  # the bucket allowed the burst, then 20 a second
    for start in times:
        in_window = sum(1 for t in times if start <= t < start + 1.0)
        assert in_window <= 20 + 5


async def test_a_429_pauses_every_poll_for_retry_after(upstream: FakeUpstream) -> None:
    upstream.errors["t0"].append(RateLimitedError("slow down", provider="x", retry_after=0.4))
    scheduler = PollScheduler(upstream.poll, steady(0.02, backoff=0.01))
    await run(scheduler, ["t0", "t1"])
    first_429 = next(at for at, task in upstream.calls if task == "t0")
    # Polls already sent with the 429 may land; nothing new starts until Retry-After has passed.
    later = [at for at, _ in upstream.calls if at > first_429 + 0.05]
    assert later and min(later) - first_429 >= 0.38
    assert upstream.count["t0"] == 3 and upstream.count["t1"] == 3


async def test_server_errors_back_off_only_that_task(upstream: FakeUpstream) -> None:
    upstream.errors["sick"].extend(
        [TransientUpstreamError("502", provider="x"), TransientUpstreamError("503", provider="x")]
    )
    started = time.monotonic()
    scheduler = PollScheduler(upstream.poll, steady(0.01, backoff=0.1))
    results = await run(scheduler, ["sick", "healthy"])
    assert all(snapshots[-1].state is TaskState.COMPLETED for snapshots in results)
    healthy_done = max(at for at, task in upstream.calls if task == "healthy")
    sick_done = max(at for at, task in upstream.calls if task == "sick")
    assert sick_done - started >= 0.25  # 0.1 s + 0.2 s of backoff (±20 % jitter)
    assert healthy_done < sick_done - 0.15  # the healthy task did not wait for it


async def test_tasks_near_completion_are_polled_more_often() -> None:
    upstream = FakeUpstream(polls_to_finish=8)
    policy = steady(0.2, near_done_interval=0.02, near_done_progress=50)
    await run(PollScheduler(upstream.poll, policy), ["t"])
    times = [at for at, _ in upstream.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps[:3]) >= 0.18  # below 50 %: the normal interval
    assert max(gaps[-3:]) < 0.1  # at or past 50 %: the near-done interval


async def test_a_permanent_error_reaches_the_watcher(upstream: FakeUpstream) -> None:
    upstream.errors["gone"].append(TaskNotFoundError("no such task", provider="x"))
    scheduler = PollScheduler(upstream.poll, PollPolicy(first_delay=0, queries_per_minute=60_000))
    await scheduler.start()
    try:
        with pytest.raises(TaskNotFoundError):
            await asyncio.wait_for(drain(scheduler, "gone"), 5)
        assert scheduler.watching == 0
    finally:
        await scheduler.stop()


async def test_without_transient_retries_the_watcher_gets_the_error_at_once(
    upstream: FakeUpstream,
) -> None:
    """Local tasks: a transient error is the call's outcome, not a status query to repeat."""
    upstream.errors["local"] = [TransientUpstreamError("502", provider="starrise")]
    policy = PollPolicy(first_delay=0, interval=0.01, jitter=0, queries_per_minute=60_000)
    scheduler = PollScheduler(upstream.poll, policy, retry_transient=False)
    with pytest.raises(TransientUpstreamError):
        await run(scheduler, ["local"])
    assert len(upstream.calls) == 1


async def test_the_budget_in_use_counts_the_queries_of_the_last_minute_only(
    upstream: FakeUpstream,
) -> None:
    later = [0.0]  # the clock runs, and a test can jump it forward

    def clock() -> float:
        return time.monotonic() + later[0]

    scheduler = PollScheduler(upstream.poll, steady(0.01), clock=clock)
    await run(scheduler, ["t1", "t2"])  # three queries each, within a second
    assert (scheduler.queries, scheduler.queries_last_minute()) == (6, 6)

    later[0] = 55.0
    assert scheduler.queries_last_minute() == 6
    later[0] = 61.0
    assert scheduler.queries_last_minute() == 0
    assert scheduler.queries == 6  # the total only grows


async def test_a_429_pause_is_reported_until_it_ends(upstream: FakeUpstream) -> None:
    policy = PollPolicy(
        first_delay=0, interval=0.01, near_done_interval=0.01, jitter=0, backoff=0.01
    )
    scheduler = PollScheduler(upstream.poll, policy)
    upstream.errors["t1"].append(RateLimitedError("slow down", provider="toapis", retry_after=0.2))
    assert scheduler.paused_for() == 0.0

    await scheduler.start()
    try:
        watching = asyncio.ensure_future(drain(scheduler, "t1"))
        while not upstream.calls:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        assert 0.0 < scheduler.paused_for() <= 0.2
        await asyncio.wait_for(watching, 5)
    finally:
        await scheduler.stop()
    assert scheduler.paused_for() == 0.0
