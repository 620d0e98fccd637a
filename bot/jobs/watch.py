"""Watching submitted tasks until they end: the poll schedulers, progress, previews, deadlines.

Tasks that live upstream are polled through one budgeted scheduler (``bot.jobs.scheduler``);
tasks a provider keeps in memory (``ProviderTraits.polled_upstream`` False) through a second one
that costs no upstream query. A
streamed partial image becomes a small preview on the job's progress, never a result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.errors import EaselError, JobTimeoutError, SafetyRefusal, TaskFailedError
from bot.i18n import Duration, _
from bot.jobs.models import JobEvent, JobProgress
from bot.jobs.records import JobRecord
from bot.jobs.scheduler import PollPolicy, PollScheduler
from bot.media.preview import make_preview
from bot.options import Quality, Resolution
from bot.providers.base import ImageProvider, TaskSnapshot, TaskState

# Local tasks (synchronous APIs run in this process) are polled from memory: often, and outside
# the upstream query budget, which they never touch.
LOCAL_POLLS = PollPolicy(
    queries_per_minute=1_000_000,
    burst=100_000,
    first_delay=0.0,
    interval=0.25,
    near_done_interval=0.25,
    jitter=0.0,
    max_in_flight=100_000,
)

Emit = Callable[[JobRecord, JobEvent], Awaitable[None]]


class TaskWatcher:
    """Polls each job's task at the provider that holds it and reports its progress."""

    def __init__(
        self,
        primary: ImageProvider,
        emit: Emit,
        *,
        poll: PollPolicy,
        local_poll: PollPolicy,
        job_timeout: float,
    ) -> None:
        self._primary = primary
        self._emit = emit
        self.job_timeout = job_timeout
        self._task_providers: dict[str, ImageProvider] = {}
        self.scheduler = PollScheduler(self._poll, poll)
        # An error from a local task is the call's outcome, not a failed query to try again.
        self.local_scheduler = PollScheduler(self._poll, local_poll, retry_transient=False)

    async def start(self) -> None:
        """Start both schedulers."""
        await self.scheduler.start()
        await self.local_scheduler.start()

    async def stop(self) -> None:
        """Stop polling; watchers get CancelledError."""
        await self.scheduler.stop()
        await self.local_scheduler.stop()

    def share(self, processes: int) -> None:
        """Poll within 1/``processes`` of the upstream budget: the others use the rest."""
        self.scheduler.share(processes)

    def deadline(self, job: JobRecord) -> float:
        """Seconds a task may take: 4K and high quality are allowed many more minutes."""
        seconds = self.job_timeout
        if job.resolution is Resolution.R4K:
            seconds *= 2
        if job.request.quality is Quality.HIGH:
            seconds *= 1.5
        return seconds

    async def until_done(
        self, job: JobRecord, provider: ImageProvider, *, first_delay: float | None
    ) -> TaskSnapshot:
        """Watch the job's task until it completes; raise when it fails or its deadline passes."""
        assert job.task_id is not None
        task_id = job.task_id
        deadline = self.deadline(job)
        remaining = (job.submitted_at or time.time()) + deadline - time.time()
        scheduler = self.scheduler if provider.traits.polled_upstream else self.local_scheduler
        last = job.progress
        last_preview: int | None = None
        self._task_providers[task_id] = provider
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                async for snapshot in scheduler.watch(task_id, first_delay=first_delay):
                    if snapshot.state is TaskState.RUNNING:
                        percent = max(0, min(99, snapshot.progress))
                        preview = None
                        fresh = snapshot.preview_index is not None
                        if fresh and snapshot.preview and snapshot.preview_index != last_preview:
                            last_preview = snapshot.preview_index
                            preview = await make_preview(snapshot.preview)
                        if percent != last or preview is not None:
                            last = job.progress = percent
                            await self._emit(
                                job,
                                JobProgress(
                                    percent=percent,
                                    status=snapshot.status,
                                    preview=preview,
                                    preview_index=last_preview if preview else None,
                                ),
                            )
                        continue
                    if snapshot.state is TaskState.FAILED:
                        raise _failure_error(snapshot, provider.name)
                    return snapshot
        except TimeoutError:
            raise JobTimeoutError(
                _(
                    "{service} did not finish within {duration}.",
                    service=provider.label,
                    duration=Duration(seconds=deadline),
                ),
                provider=provider.name,
                member_hint=_("Please try again later (task `{task}`).", task=task_id),
                operator_hint=f"Task {task_id} was given up; try again later, or allow more "
                "time with JOB_TIMEOUT.",
            ) from None
        finally:
            self._task_providers.pop(task_id, None)
        raise TaskFailedError(  # pragma: no cover - watch() always ends with a final snapshot
            _("The image service stopped reporting on this task."), provider=provider.name
        )

    async def _poll(self, task_id: str) -> TaskSnapshot:
        """One status read; the scheduler owns retries (and the budget), not the provider."""
        provider = self._task_providers.get(task_id, self._primary)
        return await provider.poll(task_id, retry=False)


def _failure_error(snapshot: TaskSnapshot, provider: str) -> EaselError:
    detail = f"{snapshot.error_code or 'failed'}: {snapshot.error_message or 'no reason given'}"
    if snapshot.safety_refusal:
        return SafetyRefusal(
            _(
                "The image service's safety system refused this request. "
                "Reword the prompt (or use other reference images) and try again."
            ),
            provider=provider,
            detail=detail,
        )
    # Not a refusal: the upstream did not say its safety system stopped it, so the member is told
    # it failed (and may simply run it again), never to reword a prompt that may be fine.
    reason = snapshot.error_message or snapshot.error_code or "no reason given"
    return TaskFailedError(
        _(
            "The image service failed to make this image ({reason}). This was not a refusal of "
            "your prompt; try again.",
            reason=reason[:200],
        ),
        provider=provider,
        code=snapshot.error_code,
        detail=detail,
    )
