"""The engine: accepts jobs, persists them at every step, runs them fairly, resumes them.

A job's life: ``receiving`` (its input images, if any) → ``queued`` → ``uploading`` →
``submitting`` → ``submitted`` → ``downloaded`` → ``delivered`` (or ``failed``/``cancelled``).
The row is saved before every irreversible or slow step, so after a crash or restart
``resume()`` continues each job from where it stood: attachments are read again from their URLs,
queued jobs run, submitted tasks are polled again, downloaded results are delivered, and a crash
between sending a submit and storing its task id is resolved by looking the task up by its
client reference instead of submitting twice.

The engine keeps each job's lifecycle; its parts do the rest: ``intake`` (reading and checking
inputs), ``provider_set`` (who may take a job and how it is labelled), ``failover`` (uploading
and submitting), ``watch`` (polling until done), ``fanout`` (events to observers, finish hooks,
delivery retries) and ``retention`` (pruning old files).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence

from bot.errors import EaselError, InputError, InternalError, PolicyRefusal
from bot.i18n import Text, _
from bot.jobs import costs, intake, pipeline
from bot.jobs.config import EngineConfig
from bot.jobs.context import current_job
from bot.jobs.failover import Failover, failure_kind
from bot.jobs.fanout import (
    FINAL_EVENTS,
    EventFanout,
    FinishHook,
    JobMonitor,
    JobObserver,
    failed_event,
)
from bot.jobs.intake import InputSource
from bot.jobs.leases import LeaseKeeper
from bot.jobs.models import (
    AppliedDefault,
    InputImage,
    JobCompleted,
    JobDownloading,
    JobEvent,
    JobFailed,
    JobQueued,
    JobRequest,
    ResolvedRequest,
)
from bot.jobs.ports import JobFiles, JobRecorder, JobStore, LeaseLostError, StoreUnavailableError
from bot.jobs.provider_set import ProviderSet
from bot.jobs.queue import FairQueue
from bot.jobs.reading import JobReading
from bot.jobs.records import Delivery, JobAction, JobRecord, JobState, Origin, StoredFile
from bot.jobs.watch import TaskWatcher
from bot.providers.base import ImageProvider, TaskSnapshot, TaskState
from bot.providers.catalog import ModelSpec

log = logging.getLogger(__name__)

__all__ = [
    "Engine",
    "EngineConfig",
]  # the config lives in bot.jobs.config; callers import both here


class Engine(JobReading):
    """Runs image jobs durably against a provider, failing over to the next ones in order.

    ``provider`` is the primary: requests are validated against its model, and every job tries
    it first. ``fallbacks`` take a job, in order, when the ones before it are down or out of
    balance at submit (see ``bot.jobs.failover.fails_over``); a job records which provider took
    it, and polling, resume and the label shown to the member follow that one.

    ``store`` and ``files`` are the engine's own ports: the bot reads jobs through ``get_job``,
    ``recent_jobs``, ``read_file``, ``load_results`` and ``derive``.
    """

    def __init__(
        self,
        provider: ImageProvider,
        store: JobStore,
        files: JobFiles,
        config: EngineConfig | None = None,
        *,
        label: Text | str | None = None,
        fallbacks: Sequence[ImageProvider] = (),
        labels: Mapping[str, Text | str] | None = None,
    ) -> None:
        self.provider_set = ProviderSet(provider, fallbacks, label=label, labels=labels)
        self.provider = provider
        self.providers = self.provider_set.providers
        self.label = self.provider_set.label
        self.store = store
        self.files = files
        self.config = config or EngineConfig()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, JobRecord] = {}
        self._cancelling: set[str] = set()
        self._sources: dict[Origin, InputSource] = {}
        self.events = EventFanout(
            store,
            self._live,
            lambda job_id: self.queue.position(job_id),
            delivery_attempts=self.config.delivery_attempts,
            delivery_backoff=self.config.delivery_backoff,
        )
        self.queue = FairQueue(self.config.queue, on_position=self.events.position_changed)
        self.watcher = TaskWatcher(
            provider,
            self.events.emit,
            poll=self.config.poll,
            local_poll=self.config.local_poll,
            job_timeout=self.config.job_timeout,
        )
        self.failover = Failover(
            self.provider_set,
            store,
            files,
            self.events.emit,
            self.watcher,
            budget=self.config.submit_budget,
            backoff=self.config.submit_backoff,
        )
        self._started_at = time.time()
        self.events.on_finished(costs.FinalCost(self.provider_set))  # first: hooks read it
        self.leases = LeaseKeeper(
            store,
            self.config.lease,
            working_on=self._running,
            origins=lambda: self.events.origins,
            launch=self._launch,
            share=self.watcher.share,
        )

    # ------------------------------------------------------------------ providers and observers

    @property
    def spec(self) -> ModelSpec:
        """What the primary provider's model allows (requests are validated against it)."""
        return self.provider_set.spec

    def label_for(self, job: JobRecord) -> Text:
        """Who makes (or made) the job's images, as shown to the member."""
        return self.provider_set.label_for(job)

    def observe(self, origin: Origin, observer: JobObserver) -> None:
        """Send every event of jobs from ``origin`` to ``observer`` (register before resume)."""
        self.events.observe(origin, observer)

    def on_finished(self, hook: FinishHook) -> None:
        """Call ``hook`` once per job when its outcome is known (usage counters, audit logs).

        Runs before the member is told, for every origin; a failing hook is logged, not fatal.
        A job whose member could not be told is told again after a restart, and a result that
        never reached the member runs the hooks again as an ``undeliverable`` failure, so a hook
        can run twice for one job: hooks must be idempotent per job id and outcome.
        """
        self.events.on_finished(hook)

    def monitor(self, monitor: JobMonitor) -> None:
        """Tell ``monitor`` about every job accepted and told in this process (metrics)."""
        self.events.monitor(monitor)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start polling and the lease heartbeat (which takes over dead processes' jobs)."""
        await self.watcher.start()
        self.leases.start()

    async def resume(self) -> int:
        """Continue the unfinished jobs no live process owns (origins with an observer only);
        alone on its store (SQLite), its previous run's leases too, without waiting them out."""
        return await self.leases.claim(take_live=not self.store.shared)

    async def stop(self) -> None:
        """Stop working; unfinished jobs stay persisted and their leases are handed back."""
        tasks = dict(self._running)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await self.leases.stop(release=tasks.keys())
        await self.watcher.stop()

    @property
    def active_jobs(self) -> int:
        """Jobs being worked on in this process."""
        return len(self._running)

    def live_jobs(self) -> list[JobRecord]:
        """The jobs being worked on in this process, as they stand now (for metrics)."""
        return list(self._live.values())

    # ------------------------------------------------------------------ accepting

    def validate(
        self, request: JobRequest, *, max_prompt_chars: int | None = None
    ) -> ResolvedRequest:
        """Check a request without any I/O; raises InputError saying what to change.

        It is checked against each provider in failover order: one that cannot do it (a mask
        where masks are ignored) is passed over; only when none can is it refused, saying why
        for each (``ProviderSet.first_able``).
        """
        _, resolved = self.provider_set.first_able(request, max_prompt_chars=max_prompt_chars)
        return resolved

    async def check_inputs(self, images: Sequence[InputImage]) -> None:
        """Decode the member's images now, so a broken file is refused before acceptance."""
        await pipeline.check_inputs(images)

    async def accept(
        self,
        resolved: ResolvedRequest,
        *,
        origin: Origin,
        inputs: Sequence[InputImage] = (),
        pending: Sequence[StoredFile] = (),
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        size_limit: int | None = None,
        delivery: Delivery | None = None,
        job_id: str | None = None,
        kind: str = "imagine",
        parent_id: str | None = None,
        action: JobAction | None = None,
        defaults: Sequence[AppliedDefault] = (),
        start: bool = True,
        locale: str | None = None,
        record: JobRecorder | None = None,
    ) -> JobRecord:
        """Persist a validated job (and start it). From here on it is never silently lost.

        Inputs come as bytes (``inputs``; an edit's mask in ``resolved.request.mask``) or as
        attachments to read (``pending``: references, then a mask); the job reads and checks
        them itself (``intake.receive``). ``start=False`` only records it (``launch`` starts it).
        ``locale`` is the requester's language, for the messages sent after they asked.
        ``defaults`` are the options that came from defaults, for the job's message.
        ``record`` writes the record instead of ``store.add`` (the policy's acceptance, which
        may refuse it: then its stored inputs go and the refusal is raised).
        """
        job_id = job_id or uuid.uuid4().hex
        job = await intake.new_record(
            self.files,
            resolved,
            job_id=job_id,
            inputs=inputs,
            pending=pending,
            origin=origin,
            kind=kind,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            size_limit=size_limit,
            delivery=delivery,
            parent_id=parent_id,
            action=action,
            defaults=list(defaults),
            **costs.priced(resolved, self.spec),  # estimated again by the provider taking it
            locale=locale,
            owner=self.leases.owner,
        )
        try:
            await (record or self.store.add)(job, lease=self.config.lease.seconds)
        except PolicyRefusal:
            if job.inputs:
                await self.files.delete_job(job.id)
            raise
        log.info(
            "job %s: accepted (%s, user %s, guild %s)",
            job.id,
            kind,
            user_id,
            guild_id,
            extra={"job_id": job.id, "guild_id": guild_id},  # said before the job's task runs
        )
        self.events.accepted(job)
        if start:
            self._launch(job)
        return job

    async def launch(self, job: JobRecord, *, message_id: int | None = None) -> None:
        """Start a job ``accept(start=False)`` recorded, now that its message exists."""
        if message_id is not None and job.delivery is not None:
            job.delivery = job.delivery.model_copy(update={"message_id": message_id})
            await self.store.save(job)
        self._launch(job)

    async def abandon(self, job: JobRecord, reason: str) -> None:
        """Give up a recorded job nobody can be told about; the finish hooks still learn of it."""
        log.warning("job %s: abandoned: %s", job.id, reason)
        await self.events.close_untold(job, "internal", reason)

    def read_inputs_with(self, origin: Origin, source: InputSource) -> None:
        """Where jobs from ``origin`` read their attachments (``intake.receive``)."""
        self._sources[origin] = source

    async def run(
        self, request: JobRequest, *, size_limit: int | None = None, job_id: str | None = None
    ) -> AsyncIterator[JobEvent]:
        """Run one job for a caller that watches it directly (the command line, tests)."""
        try:
            resolved = self.validate(request)
            await self.check_inputs(request.references)
        except InputError as exc:
            yield JobFailed(reason=exc.text_for("operator"), failure="input")
            return
        job_id = job_id or uuid.uuid4().hex
        with self.events.listen(job_id) as events:
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

    async def cancel(self, job_id: str) -> bool:
        """Stop a job that has not finished; False when it is already done."""
        task = self._running.get(job_id)
        job = self._live.get(job_id)
        if task is None or job is None or job.state is JobState.DOWNLOADED or job.state.finished:
            return False
        self._cancelling.add(job_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    # ------------------------------------------------------------------ driving a job

    def _launch(self, job: JobRecord) -> None:
        if job.id in self._running:
            return  # claimed back while it waited for ``launch``: already running here
        self._live[job.id] = job
        task = asyncio.create_task(self._drive(job), name=f"job-{job.id[:8]}")
        self._running[job.id] = task

        def forget(_: asyncio.Task[None]) -> None:
            self._running.pop(job.id, None)
            self._live.pop(job.id, None)
            self.events.forget(job.id)
            self._cancelling.discard(job.id)
            self.leases.adopted.discard(job.id)

        task.add_done_callback(forget)

    async def _drive(self, job: JobRecord) -> None:
        """Take the job from wherever it stands to a member who knows the outcome."""
        current_job.set(job)  # this task's context: its log lines name the job
        try:
            if job.state is JobState.RECEIVING:
                await intake.receive(
                    job,
                    source=self._sources.get(job.origin),
                    files=self.files,
                    spec=self.provider_set.able_spec(job.request),
                )
                await self.store.save(job)
            if job.state in _NEEDS_UPSTREAM:
                entry = self.queue.enqueue(job.id, member=job.user_id, guild=job.guild_id)
                try:
                    if not entry.granted.done():
                        await self.events.emit(job, JobQueued(position=self.queue.position(job.id)))
                    await entry.granted
                    await self.leases.start_running(job, self.config.queue)
                    await self._work(job)
                finally:
                    self.queue.release(job.id)
            if job.state is JobState.DOWNLOADED:
                images = await self.load_results(job)
                elapsed = (job.finished_at or time.time()) - job.created_at
                event = JobCompleted(
                    task_id=job.task_id or "",
                    images=images,
                    elapsed=elapsed,
                    missing=job.missing,
                    missing_reason=job.failure_reason if job.missing else None,
                )
                await self.events.tell(job, event, JobState.DELIVERED)
            elif job.state.finished and not job.notified:
                await self.events.tell(job, failed_event(job), job.state)
        except asyncio.CancelledError:
            if job.id not in self._cancelling:
                raise  # the engine is stopping: the job stays persisted for resume
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # the member's cancel is handled; later awaits must work
            await self.events.fail(
                job, "cancelled", _("Cancelled by the requester."), JobState.CANCELLED
            )
        except (LeaseLostError, StoreUnavailableError) as exc:  # not the job's failure: its
            log.warning("job %s: stopped here (%s)", job.id, exc)  # lease's next owner goes on
        except EaselError as exc:
            log.info("job %s: failed: %s", job.id, exc)
            reason = exc.text_for(job.audience)
            await self.events.fail(job, failure_kind(exc), reason, JobState.FAILED)
        except Exception:
            log.exception("job %s: crashed", job.id)
            crash = InternalError(
                _("Something went wrong inside Easel."),
                member_hint=_(
                    "The team can find it in the logs (reference `{reference}`); please try again.",
                    reference=job.id[:8],
                ),
                operator_hint=f"The traceback is in the log above (job {job.id}).",
            )
            reason = crash.text_for(job.audience)
            await self.events.fail(job, "internal", reason, JobState.FAILED)

    async def _work(self, job: JobRecord) -> None:
        """Upload, submit, poll and download, saving the row before each irreversible step."""
        provider = self.provider_set.serving(job)
        snapshot: TaskSnapshot | None = None
        await self.failover.recover(job, provider)  # after a restart: was the submit sent?
        if job.state in (JobState.QUEUED, JobState.UPLOADING):
            provider, snapshot = await self.failover.submit(job)
        if job.state is JobState.SUBMITTED:
            if snapshot is None or snapshot.state is not TaskState.COMPLETED:
                # A task submitted before this process started (or taken over from another)
                # is polled at once, as is one whose polls cost nothing upstream.
                early = (job.submitted_at or 0) < self._started_at or job.id in self.leases.adopted
                first_delay = 0.0 if early or not provider.traits.polled_upstream else None
                snapshot = await self.watcher.until_done(job, provider, first_delay=first_delay)
            await self._collect(job, provider, snapshot)

    async def _collect(self, job: JobRecord, provider: ImageProvider, done: TaskSnapshot) -> None:
        """Download and fit the results at once (their links expire) and keep them."""
        await self.store.save(job)  # fenced: a process that lost the job does not fetch it
        costs.incurred(job, provider.spec, len(done.result_urls))  # paid, delivered or not
        await self.events.emit(job, JobDownloading(count=len(done.result_urls)))
        await pipeline.collect(job, provider, done, self.files)
        job.progress = 100
        job.state = JobState.DOWNLOADED
        job.finished_at = time.time()
        await self.store.save(job)
        log.info("job %s: %d image(s) ready", job.id, len(job.results))


_NEEDS_UPSTREAM = (JobState.QUEUED, JobState.UPLOADING, JobState.SUBMITTING, JobState.SUBMITTED)
