"""Submitting a job with failover: the first provider that takes it, the next one on an outage.

Inputs are converted once, before any request; each provider gets its own uploads. Only errors
``fails_over`` accepts move a job on: a refusal or a bad request would fail, and be charged,
everywhere. After a restart, a submit that may have been sent is looked up, never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from bot.errors import (
    AuthenticationError,
    EaselError,
    InputError,
    InsufficientQuotaError,
    JobTimeoutError,
    PermanentUpstreamError,
    RefusalError,
    TaskNotFoundError,
    TransientUpstreamError,
)
from bot.failures import FailureKind
from bot.i18n import _
from bot.jobs import costs, job_files, pipeline
from bot.jobs.models import JobSubmitted, JobUploading, JobWaiting, ResolvedRequest
from bot.jobs.ports import JobFiles, JobStore
from bot.jobs.provider_set import ProviderSet
from bot.jobs.records import JobRecord, JobState
from bot.jobs.validation import resolve_auto, validate_request
from bot.jobs.watch import Emit, TaskWatcher
from bot.options import Ratio
from bot.providers._http import NotSentError, Sleep
from bot.providers.base import ImageProvider, TaskSnapshot

log = logging.getLogger(__name__)

ROUND_BACKOFF_CAP = 15.0  # seconds: the longest wait between two rounds of submits


class InterruptedJobError(PermanentUpstreamError):
    """A synchronous call was cut off by a restart: its image is gone, it can only run again."""


def _worth_waiting(error: EaselError, provider: ImageProvider) -> bool:
    """Whether an outage is worth waiting out: nothing can have been charged for it.

    A transient error from an API whose tasks live upstream is safe (a lost submit is looked up
    by its client reference first). A synchronous call is only sent again when the service
    answered with an error or was never reached: after a timeout or a broken stream it may have
    drawn, and billed, the image.
    """
    if not isinstance(error, TransientUpstreamError):
        return False
    if not provider.traits.synchronous:
        return True
    return isinstance(error, NotSentError) or (error.status is not None and error.code != "timeout")


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


class Failover:
    """Uploads and submits a job, trying the providers in order, waiting out an outage.

    When every provider that can do the job fails over on a transient error (5xx, gateway pages,
    rate limits, no connection), the round is tried again with backoff until ``budget`` seconds
    have passed since the first try: nothing is charged until a task exists, and a ToAPIs task
    is looked up by its client reference before anything is sent twice.
    """

    def __init__(
        self,
        providers: ProviderSet,
        store: JobStore,
        files: JobFiles,
        emit: Emit,
        watcher: TaskWatcher,
        *,
        budget: float = 60.0,
        backoff: float = 2.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._providers = providers
        self._store = store
        self._files = files
        self._emit = emit
        self._watcher = watcher
        self._budget = budget
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock

    async def submit(self, job: JobRecord) -> tuple[ImageProvider, TaskSnapshot]:
        """Send the job to the first provider that takes it; the next on an outage.

        Providers that cannot do what the job asks (a mask where masks are ignored) are skipped
        to the first that can. Returns the provider that took the job and its latest snapshot
        (a synchronous provider's finished call).
        """
        job.state = JobState.UPLOADING
        await self._store.save(job)
        references, mask = await job_files.read_inputs(self._files, job)
        # Every input is converted before the first upload: a bad one costs no request.
        prepared = await pipeline.prepare_inputs(references, mask)
        candidates = self._candidates(job, prepared)
        started = self._clock()
        round_number = 0
        while True:
            last_error: EaselError | None = None
            worth_waiting = False
            for position, (provider, resolved) in enumerate(candidates):
                try:
                    snapshot = await self._submit_to(
                        job, provider, resolved, prepared, candidates[0][0]
                    )
                except EaselError as exc:
                    if not fails_over(exc):
                        raise
                    last_error = exc
                    worth_waiting = worth_waiting or _worth_waiting(exc, provider)
                    job.task_id = None
                    job.submitted_at = None
                    job.state = JobState.UPLOADING
                    await self._store.save(job)
                    if position < len(candidates) - 1:
                        log.warning(
                            "job %s: %s failed (%s); failing over", job.id, provider.name, exc
                        )
                    continue
                return provider, snapshot
            assert last_error is not None
            delay = self._wait_before_next_round(round_number, started, last_error)
            if not worth_waiting or delay is None:
                raise last_error
            round_number += 1
            log.warning(
                "job %s: no image service took it (%s); trying again in %.1fs (round %d)",
                job.id,
                last_error,
                delay,
                round_number + 1,
            )
            await self._emit(
                job, JobWaiting(reason=last_error.message_text, retry_at=time.time() + delay)
            )
            await self._sleep(delay)

    def _wait_before_next_round(
        self, round_number: int, started: float, error: EaselError
    ) -> float | None:
        """Seconds to wait before trying every provider again, or None once the budget is spent."""
        remaining = started + self._budget - self._clock()
        if remaining <= 0:
            return None
        delay = min(ROUND_BACKOFF_CAP, self._backoff * 2.0**round_number)
        delay *= random.uniform(0.8, 1.0)
        retry_after = error.retry_after if isinstance(error, TransientUpstreamError) else None
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, remaining)

    def _candidates(
        self, job: JobRecord, prepared: pipeline.PreparedInputs
    ) -> list[tuple[ImageProvider, ResolvedRequest]]:
        """The providers that can take the job, in order, each with the request as it takes it.

        Providers before the first that can do everything asked are skipped; later ones may take
        it without a quality setting they lack (``_resolve_for``).
        """
        chosen, _ = self._providers.first_able(job.request)
        candidates: list[tuple[ImageProvider, ResolvedRequest]] = []
        skipping = True
        for provider in self._providers.providers:
            if provider is chosen:
                skipping = False
            if skipping:
                log.info("job %s: %s cannot do this job; skipping it", job.id, provider.name)
                continue
            try:
                candidates.append((provider, self._resolve_for(job, provider, chosen, prepared)))
            except InputError as exc:
                if provider is chosen:
                    raise
                log.info("job %s: %s cannot take it (%s)", job.id, provider.name, exc.message)
        return candidates

    async def recover(self, job: JobRecord, provider: ImageProvider) -> None:
        """After a restart, settle a job whose submit may have been sent: never submit twice.

        A task found by the job's client reference is adopted; a submit that never arrived goes
        back to ``uploading`` to be sent again; a synchronous call died with the last process.
        """
        if job.state not in (JobState.SUBMITTING, JobState.SUBMITTED):
            return
        if not provider.traits.survives_restart:
            # A synchronous call lives in this process only: after a restart it is gone.
            found = await provider.find_task(job.client_reference)
            if found is None:
                log.info("job %s: its call to %s died with the last process", job.id, provider.name)
                raise InterruptedJobError(
                    _(
                        "Easel restarted while {service} was still making this image. That "
                        "service answers only over the open connection, so the image was lost "
                        "(it may still be charged).",
                        service=provider.label,
                    ),
                    provider=provider.name,
                    member_hint=_("Press Retry to make it again."),
                    operator_hint="Run the command again.",
                )
            if job.state is JobState.SUBMITTING:
                await self.submitted(job, found)
        elif job.state is JobState.SUBMITTING:
            found = await provider.find_task(job.client_reference)
            if found is None:
                log.info("job %s: the interrupted submit never arrived; sending it", job.id)
                job.state = JobState.UPLOADING
            else:
                log.info("job %s: found task %s after a restart", job.id, found.task_id)
                await self.submitted(job, found)

    async def submitted(self, job: JobRecord, snapshot: TaskSnapshot) -> None:
        """Record the task the job became (before anything else can fail) and say so."""
        job.task_id = snapshot.task_id
        job.state = JobState.SUBMITTED
        job.submitted_at = job.submitted_at or time.time()
        await self._store.save(job)
        log.info("job %s: submitted as task %s", job.id, snapshot.task_id)
        await self._emit(job, JobSubmitted(task_id=snapshot.task_id))

    def _resolve_for(
        self,
        job: JobRecord,
        provider: ImageProvider,
        chosen: ImageProvider,
        prepared: pipeline.PreparedInputs,
    ) -> ResolvedRequest:
        """The job's request as ``provider`` takes it (its sizes may differ from ``chosen``'s).

        ``chosen`` is the first provider able to do the job: the one it was accepted for. A
        fallback without a quality setting gets the job without one rather than not at all.
        """
        if provider is chosen and job.provider in (None, provider.name):
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
        chosen: ImageProvider,
    ) -> TaskSnapshot:
        """Upload to and submit at one provider; a synchronous call is also awaited here.

        The row names the provider before the submit, so a restart polls the right one.
        """
        if provider is not chosen or job.provider not in (None, provider.name):
            job.request = resolved.request
            job.resolution = resolved.resolution
            job.width, job.height = resolved.width, resolved.height
        job.provider = provider.name
        job.currency = costs.currency(resolved, provider.spec)  # priced by the one that takes it
        job.estimated_cost = costs.estimate(resolved, provider.spec)
        await self._store.save(job)
        total = len(prepared.references) + (1 if prepared.mask is not None else 0)
        show_uploads = total > 0 and not provider.traits.instant_uploads
        if show_uploads:
            await self._emit(job, JobUploading(done=0, total=total))
        urls, mask_url = await pipeline.upload_prepared(provider, prepared)
        if show_uploads:
            await self._emit(job, JobUploading(done=total, total=total))
        job.state = JobState.SUBMITTING
        await self._store.save(job)  # before the irreversible step
        snapshot = await provider.submit(
            pipeline.task_spec(provider, resolved, urls, job.client_reference, mask_url=mask_url)
        )
        await self.submitted(job, snapshot)
        if provider.traits.synchronous:
            # The call is the submit: an outage during it can still go to the next provider.
            return await self._watcher.until_done(job, provider, first_delay=0.0)
        return snapshot


def failure_kind(error: EaselError) -> FailureKind:
    """What kind of failure ``error`` ends a job with (shown to the member, counted in /usage)."""
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
