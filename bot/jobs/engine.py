"""The engine: accepts jobs, persists them at every step, runs them fairly, resumes them.

A job's life: ``queued`` → ``uploading`` → ``submitting`` → ``submitted`` → ``downloaded`` →
``delivered`` (or ``failed``/``cancelled``). The row is saved before every irreversible step, so
after a crash or restart ``resume()`` continues each job from where it stood: queued jobs run,
submitted tasks are polled again, downloaded results are delivered, and a crash between sending a
submit and storing its task id is resolved by looking the task up by its client reference instead
of submitting twice.

Observers (the Discord delivery, the command line) receive a ``JobEvent`` stream per job; the
engine marks a job ``notified`` only after its observer has told the member the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from bot.errors import (
    AuthenticationError,
    EaselError,
    InputError,
    InsufficientQuotaError,
    JobTimeoutError,
    PermanentUpstreamError,
    RefusalError,
    SafetyRefusal,
    TaskFailedError,
    TaskNotFoundError,
    TransientUpstreamError,
)
from bot.jobs import pipeline
from bot.jobs.derive import DerivedAction, derived_request
from bot.jobs.models import (
    FailureKind,
    InputImage,
    JobCompleted,
    JobDownloading,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
    JobRequest,
    JobSubmitted,
    JobUploading,
    ResolvedRequest,
    ResultImage,
)
from bot.jobs.ports import JobFiles, JobStore
from bot.jobs.queue import FairQueue, QueueLimits
from bot.jobs.records import Delivery, JobAction, JobRecord, JobState, Origin, StoredFile
from bot.jobs.scheduler import PollPolicy, PollScheduler
from bot.jobs.validation import resolve_auto, validate_request
from bot.media.preview import make_preview
from bot.media.probe import probe
from bot.options import Quality, Ratio, Resolution
from bot.providers.base import ImageProvider, TaskSnapshot, TaskState
from bot.providers.catalog import ModelSpec

log = logging.getLogger(__name__)

FINAL_EVENTS = (JobCompleted, JobFailed)


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


class EngineConfig(BaseModel):
    """Timing, budget and concurrency."""

    poll: PollPolicy = Field(default_factory=PollPolicy)
    local_poll: PollPolicy = Field(default_factory=lambda: LOCAL_POLLS.model_copy())
    queue: QueueLimits = Field(default_factory=QueueLimits)
    job_timeout: float = Field(default=900.0, gt=0)  # 2K standard; 4K and high quality get more


FinishHook = Callable[[JobRecord, JobCompleted | JobFailed], Awaitable[None]]


class JobObserver(Protocol):
    """Tells the member about a job (renders events on Discord, prints them on a terminal)."""

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        """Handle one event; raising on a final event leaves the job to be told again later."""
        ...


class InterruptedJobError(PermanentUpstreamError):
    """A synchronous call was cut off by a restart: its image is gone, it can only run again."""


class Engine:
    """Runs image jobs durably against a provider, failing over to the next ones in order.

    ``provider`` is the primary: requests are validated against its model, and every job tries
    it first. ``fallbacks`` take a job, in order, when the ones before it are down or out of
    balance at submit (see ``fails_over``); a job records which provider took it, and polling,
    resume and the label shown to the member follow that one.
    """

    def __init__(
        self,
        provider: ImageProvider,
        store: JobStore,
        files: JobFiles,
        config: EngineConfig | None = None,
        *,
        label: str | None = None,
        fallbacks: Sequence[ImageProvider] = (),
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.providers: list[ImageProvider] = [provider, *fallbacks]
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique, got {names}")
        self.store = store
        self.files = files
        self.config = config or EngineConfig()
        self.label = label or f"{provider.label} · {provider.spec.model_id}"
        self._labels = {p.name: f"{p.label} · {p.spec.model_id}" for p in self.providers}
        self._labels.update(labels or {})
        self._labels[provider.name] = self.label
        self.scheduler = PollScheduler(self._poll_without_retry, self.config.poll)
        self.local_scheduler = PollScheduler(
            self._poll_local, self.config.local_poll, retry_transient=False
        )
        self._task_providers: dict[str, ImageProvider] = {}
        self.queue = FairQueue(self.config.queue, on_position=self._position_changed)
        self._observers: dict[Origin, JobObserver] = {}
        self._finish_hooks: list[FinishHook] = []
        self._listeners: dict[str, asyncio.Queue[JobEvent]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, JobRecord] = {}
        self._cancelling: set[str] = set()
        self._emit_locks: dict[str, asyncio.Lock] = {}
        self._position_tasks: set[asyncio.Task[None]] = set()
        self._started_at = time.time()

    # ------------------------------------------------------------------ lifecycle

    @property
    def spec(self) -> ModelSpec:
        """What the primary provider's model allows (requests are validated against it)."""
        return self.provider.spec

    def provider_named(self, name: str | None) -> ImageProvider | None:
        """The configured provider of this name (the primary for None), or None."""
        if name is None:
            return self.provider
        return next((p for p in self.providers if p.name == name), None)

    def label_for(self, job: JobRecord) -> str:
        """Who makes (or made) the job's images, as shown to the member.

        A job another provider took over says so, so the member knows why it looks different.
        """
        if job.provider is None or job.provider == self.provider.name:
            return self.label
        label = self._labels.get(job.provider, job.provider)
        return f"{label} · standing in for {self.provider.label}"

    def observe(self, origin: Origin, observer: JobObserver) -> None:
        """Send every event of jobs from ``origin`` to ``observer`` (register before resume)."""
        self._observers[origin] = observer

    def on_finished(self, hook: FinishHook) -> None:
        """Call ``hook`` once per job when its outcome is known (usage counters, audit logs).

        Runs before the member is told, for every origin; a failing hook is logged, not fatal.
        A job whose member could not be told is told again after a restart, so a hook can run
        twice for one job: hooks must be idempotent per job id.
        """
        self._finish_hooks.append(hook)

    async def start(self) -> None:
        """Start the poll schedulers."""
        await self.scheduler.start()
        await self.local_scheduler.start()

    async def resume(self) -> int:
        """Continue every unfinished job of the origins that have an observer."""
        resumed = 0
        for origin in self._observers:
            for job in await self.store.unfinished(origin):
                if job.id not in self._running:
                    log.info("job %s: resuming from %s", job.id, job.state)
                    self._launch(job)
                    resumed += 1
        return resumed

    async def stop(self) -> None:
        """Stop working; every unfinished job stays persisted for the next ``resume``."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.scheduler.stop()
        await self.local_scheduler.stop()

    @property
    def active_jobs(self) -> int:
        """Jobs being worked on in this process."""
        return len(self._running)

    # ------------------------------------------------------------------ accepting

    def validate(
        self, request: JobRequest, *, max_prompt_chars: int | None = None
    ) -> ResolvedRequest:
        """Check a request without any I/O; raises InputError saying what to change."""
        return validate_request(request, self.spec, max_prompt_chars=max_prompt_chars)

    async def check_inputs(self, images: Sequence[InputImage]) -> None:
        """Decode the member's images now, so a broken file is refused before acceptance."""
        await pipeline.check_inputs(images)

    async def accept(
        self,
        resolved: ResolvedRequest,
        *,
        origin: Origin,
        inputs: Sequence[InputImage] = (),
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        size_limit: int | None = None,
        delivery: Delivery | None = None,
        job_id: str | None = None,
        kind: str = "imagine",
        parent_id: str | None = None,
        action: JobAction | None = None,
    ) -> JobRecord:
        """Persist a validated job and start it. From here on it is never silently lost.

        An edit's mask comes in ``resolved.request.mask`` (checked by ``pipeline.check_mask``);
        it is stored after the inputs (``JobRecord.reference_files`` and ``mask_file``).
        """
        job_id = job_id or uuid.uuid4().hex
        mask = resolved.request.mask
        files = [(f"input_{index}_{image.filename}", image) for index, image in enumerate(inputs)]
        if mask is not None:
            files.append((f"mask_{mask.filename}", mask))
        stored = []
        for name, image in files:
            path = await self.files.write(job_id, name, image.data)
            stored.append(
                StoredFile(
                    path=path,
                    filename=image.filename,
                    content_type=image.content_type or "application/octet-stream",
                )
            )
        if inputs and resolved.request.ratio is Ratio.AUTO:
            first = await probe(inputs[0].data, filename=inputs[0].filename)
            resolved = resolve_auto(resolved, self.spec, (first.width, first.height))
        request = resolved.request.model_copy(
            update={
                "references": tuple(
                    InputImage(filename=i.filename, data=b"", content_type=i.content_type)
                    for i in inputs
                ),
                "mask": None
                if mask is None
                else InputImage(filename=mask.filename, data=b"", content_type=mask.content_type),
            }
        )
        job = JobRecord(
            id=job_id,
            origin=origin,
            kind=kind,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            request=request,
            resolution=resolved.resolution,
            width=resolved.width,
            height=resolved.height,
            inputs=stored,
            client_reference=f"easel-{job_id}",
            size_limit=size_limit,
            delivery=delivery,
            parent_id=parent_id,
            action=action,
        )
        await self.store.add(job)
        log.info("job %s: accepted (%s, user %s, guild %s)", job.id, kind, user_id, guild_id)
        self._launch(job)
        return job

    async def run(
        self, request: JobRequest, *, size_limit: int | None = None, job_id: str | None = None
    ) -> AsyncIterator[JobEvent]:
        """Run one job for a caller that watches it directly (the command line, tests)."""
        try:
            resolved = self.validate(request)
            await self.check_inputs(request.references)
        except InputError as exc:
            yield JobFailed(reason=exc.user_message, failure="input")
            return
        job_id = job_id or uuid.uuid4().hex
        events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._listeners[job_id] = events
        try:
            await self.accept(
                resolved,
                origin="cli",
                inputs=request.references,
                size_limit=size_limit,
                job_id=job_id,
            )
            while True:
                event = await events.get()
                yield event
                if isinstance(event, FINAL_EVENTS):
                    return
        finally:
            self._listeners.pop(job_id, None)

    async def cancel(self, job_id: str) -> bool:
        """Stop a job that has not finished; False when it is already done."""
        task = self._running.get(job_id)
        job = self._live.get(job_id)
        if task is None or job is None or job.state in (JobState.DOWNLOADED, *_FINISHED):
            return False
        self._cancelling.add(job_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    # ------------------------------------------------------------------ reading jobs

    async def get_job(self, job_id: str) -> JobRecord | None:
        """One job by id, or by a unique prefix of at least 8 characters (as shown to members)."""
        return await self.store.get(job_id)

    async def recent_jobs(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 10
    ) -> list[JobRecord]:
        """A member's latest jobs, newest first (in one server when ``guild_id`` is given)."""
        return await self.store.recent_for_user(user_id, guild_id=guild_id, limit=limit)

    async def read_file(self, stored: StoredFile) -> bytes:
        """One stored input or result (FileNotFoundError once it was pruned)."""
        return await self.files.read(stored.path)

    async def derive(
        self, job: JobRecord, action: DerivedAction, *, index: int = 0
    ) -> tuple[JobRequest, tuple[InputImage, ...]]:
        """The request and inputs to re-roll, vary or upscale ``job`` (its image ``index``)."""
        return await derived_request(job, action, self.files, self.spec, index=index)

    async def load_results(self, job: JobRecord) -> tuple[ResultImage, ...]:
        """A finished job's images, from the file store."""
        images = []
        for stored in job.results:
            data = await self.files.read(stored.path)
            images.append(
                ResultImage(
                    filename=stored.filename,
                    data=data,
                    width=stored.width,
                    height=stored.height,
                    output_format=stored.output_format or job.request.output_format,
                    note=stored.note,
                )
            )
        return tuple(images)

    async def prune(self, older_than: float, *, batch: int = 200) -> int:
        """Delete the stored images of jobs finished more than ``older_than`` seconds ago.

        The rows stay (``/jobs`` still lists them); only the files go, so the disk does not
        grow forever. Returns how many jobs were pruned.
        """
        cutoff = time.time() - older_than
        pruned = 0
        while jobs := await self.store.with_files_finished_before(cutoff, limit=batch):
            for job in jobs:
                await self.files.delete_job(job.id)
                job.inputs = []
                job.results = []
                await self.store.save(job)
            pruned += len(jobs)
        if pruned:
            log.info(
                "pruned the files of %d job(s) older than %.0f days", pruned, older_than / 86400
            )
        return pruned

    async def save(self, job: JobRecord) -> None:
        """Persist changes an observer made (a new message id after a deleted message)."""
        await self.store.save(job)

    # ------------------------------------------------------------------ driving a job

    def _launch(self, job: JobRecord) -> None:
        self._live[job.id] = job
        task = asyncio.create_task(self._drive(job), name=f"job-{job.id[:8]}")
        self._running[job.id] = task

        def forget(_: asyncio.Task[None]) -> None:
            self._running.pop(job.id, None)
            self._live.pop(job.id, None)
            self._emit_locks.pop(job.id, None)
            self._cancelling.discard(job.id)

        task.add_done_callback(forget)

    async def _drive(self, job: JobRecord) -> None:
        """Take the job from wherever it stands to a member who knows the outcome."""
        try:
            if job.state in _NEEDS_UPSTREAM:
                entry = self.queue.enqueue(job.id, member=job.user_id, guild=job.guild_id)
                try:
                    if not entry.granted.done():
                        await self._emit(job, JobQueued(position=self.queue.position(job.id)))
                    await entry.granted
                    await self._work(job)
                finally:
                    self.queue.release(job.id)
            if job.state is JobState.DOWNLOADED:
                images = await self.load_results(job)
                elapsed = (job.finished_at or time.time()) - job.created_at
                event = JobCompleted(task_id=job.task_id or "", images=images, elapsed=elapsed)
                await self._tell(job, event, JobState.DELIVERED)
            elif job.state in _FINISHED and not job.notified:
                await self._tell(job, _failed_event(job), job.state)
        except asyncio.CancelledError:
            if job.id not in self._cancelling:
                raise  # the engine is stopping: the job stays persisted for resume
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # the member's cancel is handled; later awaits must work
            await self._fail(job, "cancelled", "Cancelled by the requester.", JobState.CANCELLED)
        except EaselError as exc:
            log.info("job %s: failed: %s", job.id, exc)
            await self._fail(job, _failure_kind(exc), exc.user_message, JobState.FAILED)
        except Exception:
            log.exception("job %s: crashed", job.id)
            await self._fail(
                job,
                "internal",
                f"Something went wrong inside Easel (reference `{job.id[:8]}`). "
                "The team can find it in the logs; please try again.",
                JobState.FAILED,
            )

    async def _work(self, job: JobRecord) -> None:
        """Upload, submit, poll and download, saving the row before each irreversible step."""
        provider = self._serving(job)
        snapshot: TaskSnapshot | None = None
        if job.state in (JobState.SUBMITTING, JobState.SUBMITTED) and provider.local_tasks:
            # A synchronous call lives in this process only: after a restart it is gone.
            found = await provider.find_task(job.client_reference)
            if found is None:
                log.info("job %s: its call to %s died with the last process", job.id, provider.name)
                raise InterruptedJobError(
                    f"Easel restarted while {provider.label} was still making this image. That "
                    "service answers only over the open connection, so the image was lost (it "
                    "may still be charged). Press Retry to make it again.",
                    provider=provider.name,
                )
            if job.state is JobState.SUBMITTING:
                await self._submitted(job, found)
        elif job.state is JobState.SUBMITTING:
            found = await provider.find_task(job.client_reference)
            if found is None:
                log.info("job %s: the interrupted submit never arrived; sending it", job.id)
                job.state = JobState.UPLOADING
            else:
                log.info("job %s: found task %s after a restart", job.id, found.task_id)
                await self._submitted(job, found)
        if job.state in (JobState.QUEUED, JobState.UPLOADING):
            provider, snapshot = await self._submit_with_failover(job)
        if job.state is JobState.SUBMITTED:
            if snapshot is None or snapshot.state is not TaskState.COMPLETED:
                # A task submitted before this process started is polled at once.
                resumed = (job.submitted_at or 0) < self._started_at
                first_delay = 0.0 if resumed or provider.local_tasks else None
                snapshot = await self._await_task(job, provider, first_delay=first_delay)
            await self._emit(job, JobDownloading(count=len(snapshot.result_urls)))
            images = await pipeline.fetch_results(
                provider,
                snapshot,
                job.resolved(),
                filename_stem=f"easel_{job.id[:8]}",
                size_limit=job.size_limit,
            )
            stored = []
            for image in images:
                path = await self.files.write(job.id, image.filename, image.data)
                stored.append(
                    StoredFile(
                        path=path,
                        filename=image.filename,
                        content_type=image.output_format.mime_type,
                        width=image.width,
                        height=image.height,
                        output_format=image.output_format,
                        note=image.note,
                    )
                )
            job.results = stored
            job.progress = 100
            job.state = JobState.DOWNLOADED
            job.finished_at = time.time()
            await self.store.save(job)
            log.info("job %s: %d image(s) ready", job.id, len(stored))

    def _serving(self, job: JobRecord) -> ImageProvider:
        """The provider that holds the job's task (the primary before anything was sent)."""
        if job.state in (JobState.QUEUED, JobState.UPLOADING):
            return self.provider
        provider = self.provider_named(job.provider)
        if provider is None:
            raise PermanentUpstreamError(
                f"The image service that took this job ({job.provider}) is no longer configured, "
                "so its result cannot be collected. Please run it again.",
                provider=job.provider or "unknown",
            )
        return provider

    async def _submit_with_failover(
        self, job: JobRecord
    ) -> tuple[ImageProvider, TaskSnapshot | None]:
        """Send the job to the first provider that takes it; the next on an outage.

        Inputs are converted once, before any request; each provider gets its own uploads. A
        provider whose model cannot do what the job asks (a mask where masks are ignored) is
        skipped. Only ``fails_over`` errors move on: a refusal or a bad request would fail
        everywhere, and would cost money everywhere. Returns the provider that took the job
        and, for a synchronous one, its finished call.
        """
        job.state = JobState.UPLOADING
        await self.store.save(job)
        inputs = [
            InputImage(
                filename=f.filename, data=await self.files.read(f.path), content_type=f.content_type
            )
            for f in job.inputs
        ]
        count = len(job.reference_files())
        mask = inputs[count] if job.mask_file() is not None else None
        # Every input is converted before the first upload: a bad one costs no request.
        prepared = await pipeline.prepare_inputs(inputs[:count], mask)
        last_error: EaselError | None = None
        for position, provider in enumerate(self.providers):
            try:
                resolved = self._resolve_for(job, provider, prepared)
            except InputError as exc:
                if position == 0:
                    raise
                log.info("job %s: %s cannot take it (%s)", job.id, provider.name, exc.user_message)
                continue
            try:
                snapshot = await self._submit_to(job, provider, resolved, prepared)
            except EaselError as exc:
                if not fails_over(exc) or position == len(self.providers) - 1:
                    raise
                last_error = exc
                log.warning("job %s: %s failed (%s); failing over", job.id, provider.name, exc)
                job.task_id = None
                job.submitted_at = None
                job.state = JobState.UPLOADING
                await self.store.save(job)
                continue
            return provider, snapshot
        assert last_error is not None  # the primary either raised or was tried
        raise last_error

    def _resolve_for(
        self, job: JobRecord, provider: ImageProvider, prepared: pipeline.PreparedInputs
    ) -> ResolvedRequest:
        """The job's request as ``provider`` takes it (its sizes may differ from the primary's).

        A fallback without a quality setting gets the job without one rather than not at all.
        """
        if provider is self.provider and job.provider in (None, provider.name):
            return job.resolved()  # as accepted (a job back from a failover is checked)
        request = job.request
        try:
            resolved = validate_request(request, provider.spec)
        except InputError as exc:
            if exc.field != "quality":
                raise
            request = request.model_copy(update={"quality": None})
            resolved = validate_request(request, provider.spec)
        if request.ratio is Ratio.AUTO and prepared.references:
            first = prepared.references[0]
            resolved = resolve_auto(resolved, provider.spec, (first.width, first.height))
        return resolved

    async def _submit_to(
        self,
        job: JobRecord,
        provider: ImageProvider,
        resolved: ResolvedRequest,
        prepared: pipeline.PreparedInputs,
    ) -> TaskSnapshot:
        """Upload to and submit at one provider; a synchronous call is also awaited here.

        The row names the provider before the submit, so a restart polls the right one.
        """
        if provider is not self.provider or job.provider not in (None, provider.name):
            job.request = resolved.request
            job.resolution = resolved.resolution
            job.width, job.height = resolved.width, resolved.height
        job.provider = provider.name
        await self.store.save(job)
        total = len(prepared.references) + (1 if prepared.mask is not None else 0)
        show_uploads = total > 0 and not provider.local_tasks  # local "uploads" are instant
        if show_uploads:
            await self._emit(job, JobUploading(done=0, total=total))
        urls, mask_url = await pipeline.upload_prepared(provider, prepared)
        if show_uploads:
            await self._emit(job, JobUploading(done=total, total=total))
        job.state = JobState.SUBMITTING
        await self.store.save(job)  # before the irreversible step
        snapshot = await provider.submit(
            pipeline.task_spec(provider, resolved, urls, job.client_reference, mask_url=mask_url)
        )
        await self._submitted(job, snapshot)
        if provider.local_tasks:
            # The call is the submit: an outage during it can still go to the next provider.
            return await self._await_task(job, provider, first_delay=0.0)
        return snapshot

    async def _submitted(self, job: JobRecord, snapshot: TaskSnapshot) -> None:
        job.task_id = snapshot.task_id
        job.state = JobState.SUBMITTED
        job.submitted_at = job.submitted_at or time.time()
        await self.store.save(job)
        log.info("job %s: submitted as task %s", job.id, snapshot.task_id)
        await self._emit(job, JobSubmitted(task_id=snapshot.task_id))

    async def _await_task(
        self, job: JobRecord, provider: ImageProvider, *, first_delay: float | None
    ) -> TaskSnapshot:
        """Watch the task until it ends or its deadline passes.

        Upstream tasks go through the shared, budgeted scheduler; local tasks through one that
        costs no upstream query. A streamed partial image becomes a small preview on the job's
        progress, never a result.
        """
        assert job.task_id is not None
        task_id = job.task_id
        deadline = self.deadline(job)
        remaining = (job.submitted_at or time.time()) + deadline - time.time()
        scheduler = self.local_scheduler if provider.local_tasks else self.scheduler
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
                f"The image service did not finish within {deadline / 60:.0f} minutes "
                f"(task `{task_id}`). Please try again later.",
                provider=provider.name,
            ) from None
        finally:
            self._task_providers.pop(task_id, None)
        raise TaskFailedError(  # pragma: no cover - watch() always ends with a final snapshot
            "The image service stopped reporting on this task.", provider=provider.name
        )

    def deadline(self, job: JobRecord) -> float:
        """Seconds a task may take: 4K and high quality are allowed many more minutes."""
        seconds = self.config.job_timeout
        if job.resolution is Resolution.R4K:
            seconds *= 2
        if job.request.quality is Quality.HIGH:
            seconds *= 1.5
        return seconds

    async def _poll_without_retry(self, task_id: str) -> TaskSnapshot:
        """Polls go through the scheduler's budget, so the provider must not retry on its own."""
        provider = self._task_providers.get(task_id, self.provider)
        return await provider.poll(task_id, retry=False)

    async def _poll_local(self, task_id: str) -> TaskSnapshot:
        """A local task's state, read from memory: no upstream query, no budget."""
        provider = self._task_providers.get(task_id, self.provider)
        return await provider.poll(task_id, retry=False)

    # ------------------------------------------------------------------ telling the member

    async def _fail(self, job: JobRecord, kind: FailureKind, reason: str, state: JobState) -> None:
        job.state = state
        job.failure_kind = kind
        job.failure_reason = reason
        job.finished_at = time.time()
        await self.store.save(job)
        await self._tell(job, _failed_event(job), state)

    async def _tell(
        self, job: JobRecord, event: JobCompleted | JobFailed, final_state: JobState
    ) -> None:
        """Run the finish hooks, tell the member; mark the job notified only if that worked."""
        for hook in self._finish_hooks:
            try:
                await hook(job, event)
            except Exception:
                log.exception("job %s: a finish hook failed", job.id)
        try:
            await self._emit(job, event)
        except Exception:
            log.exception("job %s: could not tell the member; will retry at the next start", job.id)
            return
        job.state = final_state
        job.notified = True
        if job.delivery is not None and job.delivery.interaction_token is not None:
            job.delivery = job.delivery.model_copy(update={"interaction_token": None})
        await self.store.save(job)

    async def _emit(self, job: JobRecord, event: JobEvent) -> None:
        lock = self._emit_locks.setdefault(job.id, asyncio.Lock())
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

    def _position_changed(self, job_id: str, position: int) -> None:
        job = self._live.get(job_id)
        if job is not None and job.state is JobState.QUEUED:
            task = asyncio.get_running_loop().create_task(self._emit_position(job))
            self._position_tasks.add(task)
            task.add_done_callback(self._position_tasks.discard)

    async def _emit_position(self, job: JobRecord) -> None:
        position = self.queue.position(job.id)
        if position is not None:
            await self._emit(job, JobQueued(position=position))


_FINISHED = (JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED)
_NEEDS_UPSTREAM = (JobState.QUEUED, JobState.UPLOADING, JobState.SUBMITTING, JobState.SUBMITTED)


def _failed_event(job: JobRecord) -> JobFailed:
    return JobFailed(
        reason=job.failure_reason or "The job did not finish.",
        failure=job.failure_kind or "internal",
        task_id=job.task_id,
    )


def _failure_error(snapshot: TaskSnapshot, provider: str) -> EaselError:
    detail = f"{snapshot.error_code or 'failed'}: {snapshot.error_message or 'no reason given'}"
    if snapshot.safety_refusal:
        return SafetyRefusal(
            "The image service's safety system refused this request. "
            "Reword the prompt (or use other reference images) and try again.",
            provider=provider,
            detail=detail,
        )
    reason = snapshot.error_message or snapshot.error_code or "no reason given"
    return TaskFailedError(
        f"The image service could not make this image ({reason[:200]}). Please try again.",
        provider=provider,
        code=snapshot.error_code,
        detail=detail,
    )


def fails_over(error: EaselError) -> bool:
    """Whether the next provider should take a job this error stopped at submit.

    Yes for an outage (5xx, gateway pages, timeouts, broken connections, rate limits after the
    provider's own retries) and for an account that cannot pay or is not let in (402, 401, 403,
    an endpoint or model the service does not have): another account can still make the image.
    Never for what the request itself caused (a 400 or 413, a safety refusal, the member's
    input): it would be refused, and charged, everywhere.
    """
    if isinstance(error, InputError | RefusalError | InterruptedJobError):
        return False
    return isinstance(
        error,
        TransientUpstreamError | InsufficientQuotaError | AuthenticationError | TaskNotFoundError,
    )


def _failure_kind(error: EaselError) -> FailureKind:
    if isinstance(error, InterruptedJobError):
        return "interrupted"
    if isinstance(error, InputError):
        return "input"
    if isinstance(error, RefusalError):
        return "refusal"
    if isinstance(error, JobTimeoutError):
        return "timeout"
    if isinstance(error, TransientUpstreamError | PermanentUpstreamError):
        return "upstream"
    return "internal"
