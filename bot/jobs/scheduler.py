"""One scheduler polls every running upstream task within the account's query budget.

ToAPIs counts status queries per account (3,000 a minute on the default plan) and answers 429
with ``Retry-After`` past that. Polling each task on its own timer would exceed the budget with
enough jobs, so every poll here takes a token from one bucket. Tasks are polled earliest-due
first; a task is polled more often as it nears completion, so finished images are noticed fast;
a 429 pauses all polling for ``Retry-After`` and 5xx errors back a task off with jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from bot.errors import RateLimitedError, TransientUpstreamError
from bot.providers.base import TaskSnapshot, TaskState

log = logging.getLogger(__name__)

Poll = Callable[[str], Awaitable[TaskSnapshot]]


class PollPolicy(BaseModel):
    """How often tasks are polled, and the budget every poll comes out of."""

    queries_per_minute: float = Field(default=2400, gt=0)  # 80 % of ToAPIs' default 3,000
    burst: int = Field(default=10, ge=1)
    first_delay: float = Field(default=5.0, ge=0)
    interval: float = Field(default=6.0, gt=0)
    near_done_interval: float = Field(default=1.0, gt=0)
    near_done_progress: int = Field(default=75, ge=0, le=100)
    jitter: float = Field(default=0.2, ge=0, le=1)
    backoff: float = Field(default=2.0, gt=0)
    backoff_max: float = Field(default=60.0, gt=0)
    max_in_flight: int = Field(default=32, ge=1)


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    task_id: str = field(compare=False)


@dataclass
class _Watch:
    task_id: str
    updates: asyncio.Queue[TaskSnapshot | BaseException]
    failures: int = 0
    last_progress: int = 0
    cancelled: bool = False


class TokenBucket:
    """Allows ``rate`` events per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self) -> None:
        """Spend one token (call after ``wait_time`` returned 0)."""
        self._tokens -= 1


class PollScheduler:
    """Polls watched tasks and streams their snapshots to whoever watches them."""

    def __init__(
        self,
        poll: Poll,
        policy: PollPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry_transient: bool = True,
    ) -> None:
        """``retry_transient=False`` hands every error to the watcher (local tasks: an error
        there is the call's outcome, not a failed status query to try again)."""
        self._poll = poll
        self.policy = policy or PollPolicy()
        self.retry_transient = retry_transient
        self._clock = clock
        self._bucket = TokenBucket(self.policy.queries_per_minute / 60, self.policy.burst, clock)
        self._heap: list[_Entry] = []
        self._watches: dict[str, _Watch] = {}
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._paused_until = 0.0
        self._in_flight = asyncio.Semaphore(self.policy.max_in_flight)
        self._runner: asyncio.Task[None] | None = None
        self._polls: set[asyncio.Task[None]] = set()
        self.queries = 0
        self._recent: deque[float] = deque()  # when each query of the last minute was sent

    async def start(self) -> None:
        """Start the polling loop."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="poll-scheduler")

    async def stop(self) -> None:
        """Stop polling; watchers get CancelledError."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, *self._polls, return_exceptions=True)
            self._runner = None

    def share(self, processes: int) -> None:
        """Use 1/``processes`` of the budget (rate and burst): several processes poll for one
        account, each with the share its heartbeat learned (``bot.jobs.leases``)."""
        processes = max(1, processes)
        self._bucket.rate = self.policy.queries_per_minute / 60 / processes
        self._bucket.burst = max(1, self.policy.burst // processes)

    @property
    def watching(self) -> int:
        """How many tasks are being polled."""
        return len(self._watches)

    def queries_last_minute(self) -> int:
        """Status queries sent in the last 60 seconds: the part of the budget in use."""
        cutoff = self._clock() - 60.0
        while self._recent and self._recent[0] <= cutoff:
            self._recent.popleft()
        return len(self._recent)

    def paused_for(self) -> float:
        """Seconds until polling resumes after a 429 (0 when it is not paused)."""
        return max(0.0, self._paused_until - self._clock())

    async def watch(
        self, task_id: str, *, first_delay: float | None = None
    ) -> AsyncIterator[TaskSnapshot]:
        """Yield the task's snapshots until it completes or fails.

        Transient errors are retried here; a permanent one is raised to the watcher.
        """
        watch = _Watch(task_id, asyncio.Queue())
        self._watches[task_id] = watch
        delay = self.policy.first_delay if first_delay is None else first_delay
        self._schedule(task_id, delay)
        try:
            while True:
                update = await watch.updates.get()
                if isinstance(update, BaseException):
                    raise update
                yield update
                if update.state is not TaskState.RUNNING:
                    return
        finally:
            watch.cancelled = True
            self._watches.pop(task_id, None)

    def _schedule(self, task_id: str, delay: float) -> None:
        heapq.heappush(self._heap, _Entry(self._clock() + delay, next(self._order), task_id))
        self._wake.set()

    def _next_interval(self, snapshot: TaskSnapshot) -> float:
        near_done = snapshot.progress >= self.policy.near_done_progress
        base = self.policy.near_done_interval if near_done else self.policy.interval
        spread = base * self.policy.jitter
        return max(0.05, base + random.uniform(-spread, spread))

    async def _run(self) -> None:
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            entry = self._heap[0]
            if entry.task_id not in self._watches:
                heapq.heappop(self._heap)
                continue
            now = self._clock()
            wait = max(entry.due - now, self._paused_until - now, self._bucket.wait_time())
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                continue
            heapq.heappop(self._heap)
            self._bucket.take()
            await self._in_flight.acquire()
            task = asyncio.create_task(self._poll_one(entry.task_id))
            self._polls.add(task)
            task.add_done_callback(self._polls.discard)

    async def _poll_one(self, task_id: str) -> None:
        try:
            watch = self._watches.get(task_id)
            if watch is None:
                return
            self.queries += 1
            self._recent.append(self._clock())
            self.queries_last_minute()  # drops what is older, so the window stays small
            try:
                snapshot = await self._poll(task_id)
            except TransientUpstreamError as exc:
                if not self.retry_transient:
                    watch.updates.put_nowait(exc)
                    return
                self._after_transient(task_id, watch, exc)
                return
            except Exception as exc:  # noqa: BLE001 - handed to the watcher, which decides
                watch.updates.put_nowait(exc)
                return
            watch.failures = 0
            watch.updates.put_nowait(snapshot)
            if snapshot.state is TaskState.RUNNING and not watch.cancelled:
                self._schedule(task_id, self._next_interval(snapshot))
        finally:
            self._in_flight.release()

    def _after_transient(self, task_id: str, watch: _Watch, exc: TransientUpstreamError) -> None:
        """A 429 pauses every poll for ``Retry-After``; other errors back this task off."""
        if isinstance(exc, RateLimitedError):
            pause = max(exc.retry_after or 0.0, self.policy.backoff)
            self._paused_until = max(self._paused_until, self._clock() + pause)
            log.warning("status queries rate-limited; pausing all polls for %.1fs", pause)
            self._schedule(task_id, pause)
            return
        watch.failures += 1
        delay = min(self.policy.backoff * 2 ** (watch.failures - 1), self.policy.backoff_max)
        delay *= random.uniform(0.8, 1.2)
        log.warning("poll of task %s failed (%s); again in %.1fs", task_id, exc, delay)
        self._schedule(task_id, delay)
