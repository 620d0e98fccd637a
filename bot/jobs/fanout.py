"""Event fan-out: every job event goes to its watcher and its origin's observer, exactly in order.

Observers (the Discord delivery, the command line) render a job's ``JobEvent`` stream; finish
hooks (usage counters, audit logs) learn each outcome; monitors (metrics) count what happened.
A final message that cannot reach the member is tried again with backoff; a job is marked
``notified`` once its observer told the member or the engine gave up (recorded as
``undeliverable``), so one whose telling was cut off by a restart is told again after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from bot.failures import FailureKind
from bot.i18n import Text, _, literal
from bot.jobs.context import current_job
from bot.jobs.models import JobCompleted, JobEvent, JobFailed, JobQueued
from bot.jobs.ports import JobStore
from bot.jobs.records import JobRecord, JobState, Origin

log = logging.getLogger(__name__)

FINAL_EVENTS = (JobCompleted, JobFailed)
DELIVERY_BACKOFF_CAP = 300.0  # seconds: the longest wait between two tries to tell a member

FinishHook = Callable[[JobRecord, JobCompleted | JobFailed], Awaitable[None]]


class UndeliverableError(Exception):
    """The member cannot be reached right now: an expected condition, not a bug.

    An observer raises it on a final event when every way to tell the member failed (no
    permission in the channel, the channel gone, the interaction token dead, DMs closed, the
    chat service down). The engine tries again with backoff, then gives up and records it.
    """


class JobObserver(Protocol):
    """Tells the member about a job (renders events on Discord, prints them on a terminal)."""

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        """Handle one event; raising on a final event makes the engine try it again later."""
        ...


class JobMonitor(Protocol):
    """Counts jobs as they are accepted and told (metrics); plain calls that must be quick.

    Called from every origin's jobs, in this process only. A monitor that raises is logged and
    never fails the job.
    """

    def job_accepted(self, job: JobRecord) -> None:
        """A job was persisted and will run."""
        ...

    def job_told(self, job: JobRecord, event: JobCompleted | JobFailed, *, delivered: bool) -> None:
        """The job's outcome is known; ``delivered`` says whether the member was told (saved)."""
        ...


class EventFanout:
    """Sends each job's events to its listener and observer, and records who was told."""

    def __init__(
        self,
        store: JobStore,
        live: Mapping[str, JobRecord],
        position: Callable[[str], int | None],
        *,
        delivery_attempts: int = 8,
        delivery_backoff: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``live`` holds the jobs being worked on; ``position`` reads a job's queue place.

        A final message that cannot be delivered is tried ``delivery_attempts`` times, waiting
        ``delivery_backoff`` seconds before the second try and doubling (at most 5 minutes).
        """
        self._store = store
        self._live = live
        self._position = position
        self._delivery_attempts = max(1, delivery_attempts)
        self._delivery_backoff = delivery_backoff
        self._sleep = sleep
        self._observers: dict[Origin, JobObserver] = {}
        self._finish_hooks: list[FinishHook] = []
        self._monitors: list[JobMonitor] = []
        self._listeners: dict[str, asyncio.Queue[JobEvent]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._position_tasks: set[asyncio.Task[None]] = set()

    @property
    def origins(self) -> list[Origin]:
        """The origins that have an observer (only their jobs can be resumed)."""
        return list(self._observers)

    def observe(self, origin: Origin, observer: JobObserver) -> None:
        """Send every event of jobs from ``origin`` to ``observer``."""
        self._observers[origin] = observer

    def on_finished(self, hook: FinishHook) -> None:
        """Call ``hook`` once per job when its outcome is known (see ``Engine.on_finished``)."""
        self._finish_hooks.append(hook)

    def monitor(self, monitor: JobMonitor) -> None:
        """Tell ``monitor`` about every job accepted and told (see ``JobMonitor``)."""
        self._monitors.append(monitor)

    def accepted(self, job: JobRecord) -> None:
        """A job was persisted: tell the monitors."""
        for monitor in self._monitors:
            try:
                monitor.job_accepted(job)
            except Exception:
                log.exception("job %s: a monitor failed", job.id)

    def _told(self, job: JobRecord, event: JobCompleted | JobFailed, *, delivered: bool) -> None:
        for monitor in self._monitors:
            try:
                monitor.job_told(job, event, delivered=delivered)
            except Exception:
                log.exception("job %s: a monitor failed", job.id)

    @contextmanager
    def listen(self, job_id: str) -> Iterator[asyncio.Queue[JobEvent]]:
        """A queue that also receives the job's events while the block runs (``Engine.run``)."""
        events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._listeners[job_id] = events
        try:
            yield events
        finally:
            self._listeners.pop(job_id, None)

    def forget(self, job_id: str) -> None:
        """Drop what was kept for a job this process stopped working on."""
        self._locks.pop(job_id, None)

    async def emit(self, job: JobRecord, event: JobEvent) -> None:
        """Hand one event on; a failed progress update is logged, a failed final one raised."""
        lock = self._locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            listener = self._listeners.get(job.id)
            if listener is not None:
                listener.put_nowait(event)
            observer = self._observers.get(job.origin)
            if observer is not None:
                if isinstance(event, FINAL_EVENTS):
                    await observer.on_event(job, event)
                else:
                    try:
                        await observer.on_event(job, event)
                    except Exception:
                        log.warning("job %s: progress update failed", job.id, exc_info=True)

    async def tell(
        self, job: JobRecord, event: JobCompleted | JobFailed, final_state: JobState
    ) -> None:
        """Run the finish hooks, tell the member; mark the job notified once that worked.

        A member who cannot be reached is tried again with backoff while this process runs
        (the channel permission may come back, Discord may recover); after the last try the
        job is given up on and recorded: a result becomes a failure of kind ``undeliverable``
        (its images stay stored, for ``/show``), which the finish hooks log for the admins.

        The save first is fenced by the job's lease (``LeaseLostError``): a process that lost
        the job to another never tells the member a second time.
        """
        await self._store.save(job)
        await self._run_hooks(job, event)
        problem = await self._deliver(job, event)
        outcome: JobCompleted | JobFailed = event
        if problem is None:
            job.state = final_state
        else:
            log.warning("job %s: gave up telling the member: %s", job.id, problem)
            if isinstance(event, JobCompleted):
                job.state = JobState.FAILED
                job.failure_kind = "undeliverable"
                job.failure_reason = _(
                    "The result could not be posted ({problem}). Its images are kept: /jobs "
                    "lists the job and /show posts them.",
                    problem=problem,
                )
                outcome = failed_event(job)
                await self._run_hooks(job, outcome)
        job.notified = True  # told, or given up on: a restart does not try again
        if job.delivery is not None and job.delivery.interaction_token is not None:
            job.delivery = job.delivery.model_copy(update={"interaction_token": None})
        await self._store.save(job)
        self._told(job, outcome, delivered=problem is None)

    async def _run_hooks(self, job: JobRecord, event: JobCompleted | JobFailed) -> None:
        for hook in self._finish_hooks:
            try:
                await hook(job, event)
            except Exception:
                log.exception("job %s: a finish hook failed", job.id)

    async def _deliver(self, job: JobRecord, event: JobCompleted | JobFailed) -> str | None:
        """Hand the final event on until the observer takes it; None, or why it never did."""
        problem = "no way to reach the member"
        for attempt in range(self._delivery_attempts):
            try:
                await self.emit(job, event)
            except UndeliverableError as exc:
                problem = str(exc) or problem  # expected: the member cannot be reached now
            except Exception as exc:
                log.exception("job %s: telling the member failed", job.id)
                problem = f"{type(exc).__name__}: {exc}"
            else:
                return None
            if attempt + 1 == self._delivery_attempts:
                break
            delay = min(DELIVERY_BACKOFF_CAP, self._delivery_backoff * 2.0**attempt)
            log.warning(
                "job %s: could not tell the member (%s); try %d/%d in %.0fs",
                job.id,
                problem,
                attempt + 2,
                self._delivery_attempts,
                delay,
            )
            await self._sleep(delay)
        return problem

    async def close_untold(self, job: JobRecord, kind: FailureKind, reason: Text | str) -> None:
        """End a job nobody can be told about: recorded as failed, the finish hooks run (a plain
        ``reason`` is for the log only: nobody reads it in another language)."""
        job.state = JobState.FAILED
        job.failure_kind = kind
        job.failure_reason = reason if isinstance(reason, Text) else literal(reason)
        job.finished_at = time.time()
        job.notified = True
        await self._store.save(job)
        await self._run_hooks(job, failed_event(job))
        self._told(job, failed_event(job), delivered=False)

    async def fail(self, job: JobRecord, kind: FailureKind, reason: Text, state: JobState) -> None:
        """Record why the job ended without images, then tell the member."""
        job.state = state
        job.failure_kind = kind
        job.failure_reason = reason
        job.finished_at = time.time()
        await self._store.save(job)
        await self.tell(job, failed_event(job), state)

    def position_changed(self, job_id: str, position: int) -> None:
        """The queue moved: tell a waiting job its new place (read again when it is sent)."""
        job = self._live.get(job_id)
        if job is not None and job.state is JobState.QUEUED:
            task = asyncio.get_running_loop().create_task(self._emit_position(job))
            self._position_tasks.add(task)
            task.add_done_callback(self._position_tasks.discard)

    async def _emit_position(self, job: JobRecord) -> None:
        current_job.set(job)  # this task was started from another job's: log lines name this one
        position = self._position(job.id)
        if position is not None:
            await self.emit(job, JobQueued(position=position))


def failed_event(job: JobRecord) -> JobFailed:
    """The final event of a job that ended without images, from its row."""
    return JobFailed(
        reason=job.failure_reason or _("The job did not finish."),
        failure=job.failure_kind or "internal",
        task_id=job.task_id,
    )
