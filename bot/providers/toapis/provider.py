"""ToAPIs (toapis.com): an async image-task API, behind ``ImageProvider``.

Facts come from ``shared/reference/upstream-apis.md`` §1: JSON submit to
``/v1/images/generations`` returns a task, the task is polled by id (or by the
``client_business_id`` sent with it), result URLs live in ``result.data[].url`` and/or a top-level
``url`` and expire after 24 h, uploads go to ``/v1/uploads/images``, and the front gateway
sometimes answers with an HTML error page instead of JSON.

Every failure leaves as an ``EaselError`` (``toapis.errors`` maps them) whose ``user_message`` a
member can act on. Transient failures are retried with jittered backoff, except that a submit is
only sent again when it provably was not accepted (429, connection refused) or when a lookup by
client reference shows the first attempt never created a task: images cost money.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr

from bot.errors import (
    RateLimitedError,
    TaskNotFoundError,
    TransientUpstreamError,
    UpstreamRejectedError,
)
from bot.i18n import Duration, _
from bot.lifecycle import Stoppable
from bot.options import OutputFormat
from bot.providers._bodies import ModelList
from bot.providers._downloads import download_with_retries
from bot.providers._http import Connection, NotSentError, Reply, Sleep, log_retry, short
from bot.providers.base import UPSTREAM_TASKS, ImageProvider, TaskSnapshot, TaskSpec, TaskState
from bot.providers.catalog import ModelSpec
from bot.providers.toapis.errors import Operation, ReplyReader, is_safety_failure
from bot.providers.toapis.models import (
    BalanceResponse,
    GenerationRequest,
    TaskObject,
    UploadResponse,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

BACKOFF_BASE = 1.0  # seconds before the first retry (then doubled, with jitter)
BACKOFF_CAP = 30.0  # no single backoff sleep is longer than this
MAX_RETRY_AFTER = 60.0  # a longer Retry-After is handed to the caller instead of slept through
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024  # a 4K PNG is ~30 MB; anything far bigger is not an image
MAX_API_BODY_BYTES = 16 * 1024 * 1024  # JSON answers are tiny; this only stops runaway bodies


class ToAPIsProvider(Stoppable):
    """The ToAPIs client: upload, submit, poll, download, check (see the module docstring)."""

    traits = UPSTREAM_TASKS  # tasks live upstream: polls use the query budget, lookups work

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr,
        spec: ModelSpec,
        *,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 300.0,
        max_retries: int = 4,
        sleep: Sleep = asyncio.sleep,
        resolution_case: Literal["upper", "lower"] = "upper",
        name: str = "toapis",
        label: str = "ToAPIs",
    ) -> None:
        self.name = name  # the profile's name: another gateway of this family has its own
        self.label = label
        self.spec = spec
        self.http = Connection(
            base_url,
            api_key,
            provider=name,
            service=_("the image service"),
            session=session,
            refusal=_("that cannot be an image, so it was not downloaded."),
        )
        self.replies = ReplyReader(provider=name, model_id=spec.model_id)
        self._request_timeout = request_timeout
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._max_retries = max(0, max_retries)
        self._sleep = sleep
        self._resolution_case = resolution_case

    def __repr__(self) -> str:
        return f"ToAPIsProvider(base_url={self.base_url!r}, model={self.spec.model_id!r})"

    @property
    def base_url(self) -> str:
        """Where the API lives (``/v1`` and trailing slashes taken off)."""
        return self.http.base_url

    async def stop(self) -> None:
        """Leaving ``async with``: the same as ``close``."""
        await self.close()

    async def close(self) -> None:
        """Close the session if this provider created it; a caller's session stays open."""
        await self.http.close()

    # ------------------------------------------------------------------ public operations

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """Upload an input image; return the public ``data.url`` a generation request can use."""

        async def once() -> str:
            form = aiohttp.FormData()  # a FormData can be sent once, so build one per attempt
            form.add_field("file", data, filename=filename, content_type=content_type)
            form.add_field("purpose", "generation")
            reply = await self._request(
                "upload", "POST", self.http.url("/v1/uploads/images"), data=form
            )
            parsed = self.replies.parse("upload", reply, UploadResponse)
            if not parsed.success or parsed.data is None:
                reason = short(parsed.message) or "no reason given"
                raise UpstreamRejectedError(
                    _("The image service refused the uploaded image ({reason}).", reason=reason),
                    provider=self.name,
                    status=reply.status,
                    detail=parsed.message,
                )
            return parsed.data.url

        url = await self._retrying("upload", once)
        log.info("Uploaded %s (%d bytes) to ToAPIs", filename, len(data))
        return url

    def generation_body(self, task: TaskSpec) -> dict[str, Any]:
        """The JSON body for a task: only the fields this model documents (see ``ModelSpec``).

        Edits go to the editing model with ``image_urls`` (+ ``mask_url``), the fields its page
        documents (§1.3.3); the plain model takes ``reference_images`` (§1.3.1).
        """
        spec = self.spec.for_edit() if task.edit else self.spec
        resolution = task.resolution.value
        if self._resolution_case == "lower":
            resolution = resolution.lower()
        send_format = spec.supports_output_format and task.output_format is not None
        references = list(task.reference_urls) or None
        as_image_urls = spec.reference_field == "image_urls"
        if task.mask_url and not (spec.supports_mask and references):
            raise ValueError(f"{spec.model_id} cannot take a mask without references")
        request = GenerationRequest(
            model=spec.model_id,
            prompt=task.prompt,
            size=task.ratio.value,
            resolution=resolution,
            n=task.n,
            reference_images=None if as_image_urls else references,
            image_urls=references if as_image_urls else None,
            mask_url=task.mask_url,
            quality=task.quality.value if task.quality and spec.supports_quality else None,
            output_format=task.output_format.value if send_format and task.output_format else None,
            output_compression=(
                task.compression
                if send_format and task.output_format is OutputFormat.JPEG
                else None
            ),
            client_business_id=task.client_reference,
        )
        if task.quality and not spec.supports_quality:
            log.debug("Not sending quality: %s does not document it", spec.model_id)
        return request.model_dump(exclude_none=True)

    async def submit(self, task: TaskSpec) -> TaskSnapshot:
        """Create a task; never creates two for one call (see the module docstring)."""
        body = self.generation_body(task)
        reference = task.client_reference
        attempt = 0
        while True:
            try:
                reply = await self._request(
                    "submit", "POST", self.http.url("/v1/images/generations"), json=body
                )
                snapshot = self._snapshot(self.replies.parse("submit", reply, TaskObject))
            except TransientUpstreamError as exc:
                why = f"not accepted ({exc})"  # refused at the door: sending again is safe
                if not isinstance(exc, RateLimitedError | NotSentError):
                    # Ambiguous: the task may exist. Only a client reference can tell.
                    found = await self._task_behind(exc, reference)
                    if found is not None:
                        return found
                    why = f"failed ({exc}) and no task has reference {reference}"
                delay = self._retry_delay(attempt, exc)
                if delay is None:
                    raise
                log_retry(log, f"{self.label} submit", why, attempt, self._max_retries, delay)
            else:
                log.info(
                    "Submitted %s task %s (model %s, %s %s, n=%d)",
                    self.label,
                    snapshot.task_id,
                    self.spec.model_id,
                    task.ratio.value,
                    task.resolution.value,
                    task.n,
                )
                return snapshot
            await self._sleep(delay)
            attempt += 1

    async def _task_behind(
        self, exc: TransientUpstreamError, reference: str | None
    ) -> TaskSnapshot | None:
        """After an ambiguous submit failure: the task it created, None if none, or raise."""
        if reference is None:
            log.warning(
                "%s submit failed ambiguously (%s); no client reference, not resending",
                self.label,
                exc,
            )
            raise exc
        found = await self._find_by_reference(reference)
        if found is not None:
            log.info(
                "%s submit answered %s but task %s exists (client reference %s)",
                self.label,
                exc,
                found.task_id,
                reference,
            )
        return found

    async def poll(self, task_id: str, *, retry: bool = True) -> TaskSnapshot:
        """Read a task by id (or by the ``client_business_id`` it was submitted with).

        ``retry=False`` makes one request and raises transient errors at once, for a caller that
        schedules polls against the account's query budget itself.
        """
        if retry:
            task = await self._retrying(
                "poll", lambda: self._get_task(task_id), context=f"task {task_id}"
            )
        else:
            task = await self._get_task(task_id)
        snapshot = self._snapshot(task)
        if snapshot.state is TaskState.RUNNING:
            log.debug("ToAPIs task %s: %s %d%%", task_id, snapshot.status, snapshot.progress)
        elif snapshot.state is TaskState.COMPLETED:
            log.info(
                "ToAPIs task %s completed with %d image(s)", task_id, len(snapshot.result_urls)
            )
            if not snapshot.result_urls:
                log.warning("ToAPIs task %s completed without any result URL", task_id)
        else:
            log.info(
                "ToAPIs task %s failed: %s %s (safety=%s)",
                task_id,
                snapshot.error_code,
                short(snapshot.error_message or ""),
                snapshot.safety_refusal,
            )
        return snapshot

    async def download(self, url: str) -> bytes:
        """Fetch one result image. No API key is sent: result URLs are public, on another host.

        A paid result is not given up on one bad answer: a 404, a 5xx or a broken connection is
        tried again with backoff (``download_with_retries``); only a lasting 404 is "expired".
        """

        async def once() -> bytes:
            reply = await self._request("download", "GET", url, auth=False)
            return reply.body

        data = await download_with_retries(
            once, url=url, provider=self.name, sleep=self._sleep, attempts=self._max_retries + 1
        )
        log.debug("Downloaded %d bytes from %s", len(data), url)
        return data

    async def check(self) -> str:
        """One line saying the API is reachable with this key, and its balance."""

        async def once() -> BalanceResponse:
            reply = await self._request("check", "GET", self.http.url("/v1/balance"))
            return self.replies.parse("check", reply, BalanceResponse)

        balance = await self._retrying("check", once)
        if not balance.success:
            raise UpstreamRejectedError(
                _(
                    "The image service refused the balance check ({reason}).",
                    reason=short(balance.message),
                ),
                provider=self.name,
                detail=balance.message,
            )
        if balance.unlimited:
            amount = "unlimited"
        elif balance.remain_balance is None:
            amount = "unknown"
        else:
            amount = f"{balance.remain_balance:.2f}"
        return (
            f"{self.label} reachable at {self.base_url}, balance {amount} "
            f"(model {self.spec.model_id})"
        )

    async def list_models(self, kind: str = "image") -> list[str]:
        """Model ids the key can use (``GET /v1/models?type=image``), to check a configured id."""

        async def once() -> ModelList:
            reply = await self._request(
                "check", "GET", self.http.url("/v1/models"), params={"type": kind}
            )
            return self.replies.parse("check", reply, ModelList)

        return [entry.id for entry in (await self._retrying("check", once)).data]

    # ------------------------------------------------------------------ task helpers

    async def _get_task(self, task_id: str) -> TaskObject:
        """One ``GET /v1/images/generations/{id}``; the id is quoted as one path segment."""
        url = self.http.url(f"/v1/images/generations/{quote(task_id, safe='')}")
        reply = await self._request("poll", "GET", url)
        return self.replies.parse("poll", reply, TaskObject)

    async def find_task(self, client_reference: str) -> TaskSnapshot | None:
        """The task submitted with this client reference, or None when the service has none.

        Lets a restarted engine learn whether an interrupted submit reached the service.
        """
        return await self._find_by_reference(client_reference)

    async def _find_by_reference(self, reference: str) -> TaskSnapshot | None:
        """The task submitted with this ``client_business_id``, or None when there is none."""
        try:
            found = await self._retrying(
                "poll", lambda: self._get_task(reference), context=f"client reference {reference}"
            )
        except TaskNotFoundError:
            return None
        return self._snapshot(found)

    def _snapshot(self, task: TaskObject) -> TaskSnapshot:
        """The provider-neutral view of a task object. Only completed and failed are final."""
        if task.status == "completed":
            state = TaskState.COMPLETED
        elif task.status == "failed":
            state = TaskState.FAILED
        else:  # queued, in_progress, submitted, and anything the docs have not named yet
            state = TaskState.RUNNING
        code, message = task.error_code, task.error_message
        return TaskSnapshot(
            task_id=task.id,
            state=state,
            status=task.status,
            progress=100 if state is TaskState.COMPLETED else task.progress,
            result_urls=task.result_urls(),
            error_code=code if state is TaskState.FAILED else None,
            error_message=message if state is TaskState.FAILED else None,
            safety_refusal=state is TaskState.FAILED and is_safety_failure(code, message),
        )

    # ------------------------------------------------------------------ HTTP plumbing

    async def _request(
        self, op: Operation, method: str, url: str, *, auth: bool = True, **options: Any
    ) -> Reply:
        """Send one request; return a 2xx reply or raise the mapped ``EaselError``."""
        reply = await self.http.request(
            method,
            url,
            auth=auth,
            limit=MAX_DOWNLOAD_BYTES if op == "download" else MAX_API_BODY_BYTES,
            time_limit=self._timeout,
            timeout_message=_(
                "The image service did not answer within {duration}; try again in a moment.",
                duration=Duration(seconds=self._request_timeout),
            ),
            timeout_detail=f"{op} {method} timed out",
            **options,
        )
        if reply.status >= 300:
            raise self.replies.error(op, reply)
        return reply

    # ------------------------------------------------------------------ retries

    def _retry_delay(self, attempt: int, exc: TransientUpstreamError) -> float | None:
        """Seconds before retry number ``attempt + 1``, or None to give up and raise."""
        if attempt >= self._max_retries:
            return None
        if exc.retry_after is not None:
            if exc.retry_after > MAX_RETRY_AFTER:
                return None  # the caller can reschedule; sleeping that long here helps no one
            return exc.retry_after + random.uniform(0, min(1.0, exc.retry_after * 0.1))
        return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt) * random.uniform(0.5, 1.0)

    async def _retrying(
        self, op: Operation, call: Callable[[], Awaitable[_T]], *, context: str = ""
    ) -> _T:
        """Run ``call``, retrying transient errors; permanent ones go straight to the caller."""
        attempt = 0
        while True:
            try:
                return await call()
            except TransientUpstreamError as exc:
                where = f" ({context})" if context else ""
                delay = self._retry_delay(attempt, exc)
                if delay is None:
                    log.warning("%s %s%s failed, giving up: %s", self.label, op, where, exc)
                    raise
                what = f"{self.label} {op}{where}"
                log_retry(log, what, f"failed ({exc})", attempt, self._max_retries, delay)
            await self._sleep(delay)
            attempt += 1


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's protocol
    _PROTOCOL_CHECK: type[ImageProvider] = ToAPIsProvider
