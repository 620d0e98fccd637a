"""The job pipeline: validate → upload references → submit → poll → download → fit for delivery.

``Engine.run`` yields ``JobEvent``s; the Discord cog and the command line both render them. It
never raises for a job's own failure: the last event is always ``JobCompleted`` or ``JobFailed``,
so an accepted job always ends with a message the member can read.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, Field

from bot.errors import (
    EaselError,
    InputError,
    JobTimeoutError,
    PermanentUpstreamError,
    RefusalError,
    SafetyRefusal,
    TaskFailedError,
    TransientUpstreamError,
)
from bot.jobs.models import (
    FailureKind,
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
from bot.jobs.validation import validate_request
from bot.media.delivery import fit_for_delivery
from bot.media.inputs import prepare_reference
from bot.providers.base import ImageProvider, TaskSnapshot, TaskSpec, TaskState
from bot.providers.catalog import ModelSpec

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class EngineConfig(BaseModel):
    """Timing and concurrency of the pipeline."""

    poll_first_delay: float = Field(default=5.0, ge=0)
    poll_interval: float = Field(default=6.0, gt=0)
    poll_jitter: float = Field(default=0.2, ge=0, le=1)  # ± fraction of the interval
    job_timeout: float = Field(default=900.0, gt=0)  # 4K high-quality can take many minutes
    max_concurrent_jobs: int = Field(default=50, ge=1)
    transient_backoff: float = Field(default=2.0, gt=0)
    transient_backoff_max: float = Field(default=60.0, gt=0)


class Engine:
    """Runs image jobs against one provider."""

    def __init__(
        self,
        provider: ImageProvider,
        config: EngineConfig | None = None,
        *,
        label: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.label = label or f"{provider.name} · {provider.spec.model_id}"
        self.config = config or EngineConfig()
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(self.config.max_concurrent_jobs)
        self._waiting = 0

    @property
    def spec(self) -> ModelSpec:
        """What the provider's model allows."""
        return self.provider.spec

    def validate(self, request: JobRequest) -> ResolvedRequest:
        """Check a request without any I/O; raises InputError saying what to change."""
        return validate_request(request, self.spec)

    async def run(
        self,
        request: JobRequest | ResolvedRequest,
        *,
        size_limit: int | None = None,
        job_id: str | None = None,
    ) -> AsyncIterator[JobEvent]:
        """Run one job to the end, yielding its events; the last is JobCompleted or JobFailed."""
        job_id = job_id or uuid.uuid4().hex
        started = self._clock()
        task_id: str | None = None
        try:
            resolved = request if isinstance(request, ResolvedRequest) else self.validate(request)
            if self._slots.locked():
                yield JobQueued(position=self._waiting + 1)
            self._waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
            try:
                reference_urls: list[str] = []
                references = resolved.request.references
                for index, image in enumerate(references):
                    yield JobUploading(done=index, total=len(references))
                    prepared = await prepare_reference(image.data, image.filename)
                    url = await self.provider.upload_image(
                        prepared.data, prepared.filename, prepared.content_type
                    )
                    reference_urls.append(url)
                if references:
                    yield JobUploading(done=len(references), total=len(references))

                snapshot = await self.provider.submit(
                    self._task_spec(resolved, reference_urls, job_id)
                )
                task_id = snapshot.task_id
                log.info("job %s submitted as task %s", job_id, task_id)
                yield JobSubmitted(task_id=task_id)

                async for event in self._poll_until_done(snapshot, job_id, started):
                    if isinstance(event, TaskSnapshot):
                        snapshot = event
                    else:
                        yield event

                yield JobDownloading(count=len(snapshot.result_urls))
                images = await self._download_all(snapshot, resolved, job_id, size_limit)
            finally:
                self._slots.release()
            log.info("job %s completed with %d image(s)", job_id, len(images))
            yield JobCompleted(task_id=task_id, images=images, elapsed=self._clock() - started)
        except EaselError as exc:
            log.info("job %s failed: %s", job_id, exc)
            yield JobFailed(reason=exc.user_message, failure=_failure_kind(exc), task_id=task_id)
        except Exception:
            log.exception("job %s crashed", job_id)
            yield JobFailed(
                reason=f"Something went wrong inside Easel (reference `{job_id[:8]}`). "
                "The team can find it in the logs; please try again.",
                failure="internal",
                task_id=task_id,
            )

    def _task_spec(self, resolved: ResolvedRequest, urls: list[str], job_id: str) -> TaskSpec:
        request = resolved.request
        return TaskSpec(
            prompt=request.prompt,
            ratio=request.ratio,
            resolution=resolved.resolution,
            width=resolved.width,
            height=resolved.height,
            n=request.n,
            quality=request.quality,
            output_format=request.output_format if self.spec.supports_output_format else None,
            compression=request.compression if self.spec.supports_output_format else None,
            reference_urls=tuple(urls),
            client_reference=f"easel-{job_id}",
        )

    async def _poll_until_done(
        self, snapshot: TaskSnapshot, job_id: str, started: float
    ) -> AsyncIterator[JobProgress | TaskSnapshot]:
        """Poll on a jittered schedule until the task ends, yielding progress when it changes."""
        deadline = started + self.config.job_timeout
        delay = self.config.poll_first_delay
        backoff = self.config.transient_backoff
        last: tuple[int, str] | None = None
        while snapshot.state is TaskState.RUNNING:
            if self._clock() + delay > deadline:
                raise JobTimeoutError(
                    f"The image service did not finish within "
                    f"{self.config.job_timeout / 60:.0f} minutes (task `{snapshot.task_id}`). "
                    "Please try again later.",
                    provider=self.provider.name,
                )
            await self._sleep(delay)
            try:
                snapshot = await self.provider.poll(snapshot.task_id)
            except TransientUpstreamError as exc:
                delay = max(exc.retry_after or 0.0, backoff)
                backoff = min(backoff * 2, self.config.transient_backoff_max)
                log.warning("job %s poll failed (%s); retrying in %.1fs", job_id, exc, delay)
                continue
            backoff = self.config.transient_backoff
            delay = self._next_delay()
            current = (snapshot.progress, snapshot.status)
            if snapshot.state is TaskState.RUNNING and current != last:
                last = current
                yield JobProgress(
                    percent=max(0, min(99, snapshot.progress)), status=snapshot.status
                )
            yield snapshot
        if snapshot.state is TaskState.FAILED:
            raise _failure_error(snapshot, self.provider.name)

    def _next_delay(self) -> float:
        spread = self.config.poll_interval * self.config.poll_jitter
        return max(0.0, self.config.poll_interval + random.uniform(-spread, spread))

    async def _download_all(
        self,
        snapshot: TaskSnapshot,
        resolved: ResolvedRequest,
        job_id: str,
        size_limit: int | None,
    ) -> tuple[ResultImage, ...]:
        if not snapshot.result_urls:
            raise TaskFailedError(
                "The image service reported success but sent no image. Please try again.",
                provider=self.provider.name,
            )
        request = resolved.request
        stem = f"easel_{job_id[:8]}"

        async def fetch(index: int, url: str) -> ResultImage:
            data = await self.provider.download(url)
            fitted = await fit_for_delivery(
                data,
                filename_stem=f"{stem}_{index + 1}",
                output_format=request.output_format,
                compression=request.compression,
                limit_bytes=size_limit,
            )
            return ResultImage(
                filename=fitted.filename,
                data=fitted.data,
                width=fitted.width,
                height=fitted.height,
                output_format=fitted.output_format,
                note=fitted.note,
            )

        return tuple(
            await asyncio.gather(*(fetch(i, url) for i, url in enumerate(snapshot.result_urls)))
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


def _failure_kind(error: EaselError) -> FailureKind:
    if isinstance(error, InputError):
        return "input"
    if isinstance(error, RefusalError):
        return "refusal"
    if isinstance(error, JobTimeoutError):
        return "timeout"
    if isinstance(error, TransientUpstreamError | PermanentUpstreamError):
        return "upstream"
    return "internal"
