"""ToAPIs (toapis.com): an async image-task API, behind ``ImageProvider``.

Facts come from ``shared/reference/upstream-apis.md`` §1: JSON submit to
``/v1/images/generations`` returns a task, the task is polled by id (or by the
``client_business_id`` sent with it), result URLs live in ``result.data[].url`` and/or a top-level
``url`` and expire after 24 h, uploads go to ``/v1/uploads/images``, and the front gateway
sometimes answers with an HTML error page instead of JSON.

Every failure leaves here as an ``EaselError`` from ``bot.errors`` whose ``user_message`` a member
can act on. Transient failures are retried with jittered backoff, except that a submit is only
sent again when it provably was not accepted (429, connection refused) or when a lookup by client
reference shows the first attempt never created a task: images cost money.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, SecretStr, ValidationError

from bot.errors import (
    AuthenticationError,
    EaselError,
    InsufficientQuotaError,
    RateLimitedError,
    ResultUnavailableError,
    SafetyRefusal,
    TaskNotFoundError,
    TransientUpstreamError,
    UpstreamRejectedError,
)
from bot.options import OutputFormat
from bot.providers._http import (
    NotSentError,
    Reply,
    parse_retry_after,
    read_capped,
    short,
    transport_errors,
)
from bot.providers.base import UPSTREAM_TASKS, ImageProvider, TaskSnapshot, TaskSpec, TaskState
from bot.providers.catalog import ModelSpec
from bot.providers.toapis.models import (
    BalanceResponse,
    ErrorEnvelope,
    GenerationRequest,
    ModelList,
    TaskObject,
    UploadResponse,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Operation = Literal["upload", "submit", "poll", "download", "check"]
_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

PROVIDER = "toapis"
BACKOFF_BASE = 1.0  # seconds before the first retry (then doubled, with jitter)
BACKOFF_CAP = 30.0  # no single backoff sleep is longer than this
MAX_RETRY_AFTER = 60.0  # a longer Retry-After is handed to the caller instead of slept through
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024  # a 4K PNG is ~30 MB; anything far bigger is not an image
MAX_API_BODY_BYTES = 16 * 1024 * 1024  # JSON answers are tiny; this only stops runaway bodies

# Words in a failed task's code or message that mean the safety system said no (§1.9). The one
# documented failure wraps "upstream returned status 422", OpenAI's content-policy status.
_SAFETY_WORDS = (
    "content_policy",
    "content policy",
    "policy_violation",
    "moderation",
    "safety",
    "nsfw",
    "inappropriate",
)
_SAFETY_STATUS = re.compile(r"\b422\b")


def is_safety_failure(code: str | None, message: str | None) -> bool:
    """True when a failed task's code or message points at content policy or moderation."""
    text = f"{code or ''} {message or ''}".lower()
    return any(word in text for word in _SAFETY_WORDS) or bool(_SAFETY_STATUS.search(text))


class ToAPIsProvider:
    """The ToAPIs client: upload, submit, poll, download, check (see the module docstring)."""

    name = PROVIDER
    label = "ToAPIs"
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
    ) -> None:
        self.base_url = self._normalise_base(base_url)
        self.spec = spec
        self._api_key = api_key
        self._session = session
        self._owns_session = session is None
        self._request_timeout = request_timeout
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._max_retries = max(0, max_retries)
        self._sleep = sleep
        self._resolution_case = resolution_case

    def __repr__(self) -> str:
        return f"ToAPIsProvider(base_url={self.base_url!r}, model={self.spec.model_id!r})"

    @staticmethod
    def _normalise_base(base_url: str) -> str:
        """Accept ``https://toapis.com``, ``…/`` and ``…/v1``: admins paste all three."""
        base = base_url.strip().rstrip("/")
        return base.removesuffix("/v1")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this provider created it; a caller's session stays open."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_session:
            self._session = None

    # ------------------------------------------------------------------ public operations

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """Upload an input image; return the public ``data.url`` a generation request can use."""

        async def once() -> str:
            form = aiohttp.FormData()  # a FormData can be sent once, so build one per attempt
            form.add_field("file", data, filename=filename, content_type=content_type)
            form.add_field("purpose", "generation")
            reply = await self._request(
                "upload", "POST", self._api("/v1/uploads/images"), form=form
            )
            parsed = self._parse("upload", reply, UploadResponse)
            if not parsed.success or parsed.data is None:
                reason = short(parsed.message) or "no reason given"
                raise UpstreamRejectedError(
                    f"The image service refused the uploaded image ({reason}).",
                    provider=PROVIDER,
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
                    "submit", "POST", self._api("/v1/images/generations"), json_body=body
                )
                snapshot = self._snapshot(self._parse("submit", reply, TaskObject))
            except (RateLimitedError, NotSentError) as exc:
                # Refused at the door: nothing was accepted, so sending again is safe.
                delay = self._retry_delay(attempt, exc)
                if delay is None:
                    raise
                log.warning(
                    "ToAPIs submit not accepted (%s); retry %d/%d in %.1fs",
                    exc,
                    attempt + 1,
                    self._max_retries,
                    delay,
                )
            except TransientUpstreamError as exc:
                # Ambiguous: the task may exist. Only a client reference can tell.
                if reference is None:
                    log.warning(
                        "ToAPIs submit failed ambiguously (%s); no client reference, not resending",
                        exc,
                    )
                    raise
                found = await self._find_by_reference(reference)
                if found is not None:
                    log.info(
                        "ToAPIs submit answered %s but task %s exists (client reference %s)",
                        exc,
                        found.task_id,
                        reference,
                    )
                    return found
                delay = self._retry_delay(attempt, exc)
                if delay is None:
                    raise
                log.warning(
                    "ToAPIs submit failed (%s) and no task has reference %s; retry %d/%d in %.1fs",
                    exc,
                    reference,
                    attempt + 1,
                    self._max_retries,
                    delay,
                )
            else:
                log.info(
                    "Submitted ToAPIs task %s (model %s, %s %s, n=%d)",
                    snapshot.task_id,
                    self.spec.model_id,
                    task.ratio.value,
                    task.resolution.value,
                    task.n,
                )
                return snapshot
            await self._sleep(delay)
            attempt += 1

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
        """Fetch one result image. No API key is sent: result URLs are public, on another host."""

        async def once() -> bytes:
            reply = await self._request("download", "GET", url, auth=False)
            return reply.body

        data = await self._retrying("download", once, context=url)
        log.debug("Downloaded %d bytes from %s", len(data), url)
        return data

    async def check(self) -> str:
        """One line saying the API is reachable with this key, and its balance."""

        async def once() -> BalanceResponse:
            reply = await self._request("check", "GET", self._api("/v1/balance"))
            return self._parse("check", reply, BalanceResponse)

        balance = await self._retrying("check", once)
        if not balance.success:
            raise UpstreamRejectedError(
                f"The image service refused the balance check ({short(balance.message)}).",
                provider=PROVIDER,
                detail=balance.message,
            )
        if balance.unlimited:
            amount = "unlimited"
        elif balance.remain_balance is None:
            amount = "unknown"
        else:
            amount = f"{balance.remain_balance:.2f}"
        return f"ToAPIs reachable at {self.base_url}, balance {amount} (model {self.spec.model_id})"

    async def list_models(self, kind: str = "image") -> list[str]:
        """Model ids the key can use (``GET /v1/models?type=image``), to check a configured id."""

        async def once() -> ModelList:
            reply = await self._request(
                "check", "GET", self._api("/v1/models"), params={"type": kind}
            )
            return self._parse("check", reply, ModelList)

        return [entry.id for entry in (await self._retrying("check", once)).data]

    # ------------------------------------------------------------------ task helpers

    async def _get_task(self, task_id: str) -> TaskObject:
        """One ``GET /v1/images/generations/{id}``; the id is quoted as one path segment."""
        url = self._api(f"/v1/images/generations/{quote(task_id, safe='')}")
        reply = await self._request("poll", "GET", url)
        return self._parse("poll", reply, TaskObject)

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

    def _api(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _session_for_call(self) -> aiohttp.ClientSession:
        """The caller's session, or our own (created lazily inside the running loop)."""
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    async def _request(
        self,
        op: Operation,
        method: str,
        url: str,
        *,
        auth: bool = True,
        json_body: dict[str, Any] | None = None,
        form: aiohttp.FormData | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request; return a 2xx reply or raise the mapped ``EaselError``."""
        headers = {"Accept": "application/json"} if auth else {}
        if auth:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        session = self._session_for_call()
        with transport_errors(
            provider=PROVIDER,
            service="the image service",
            timeout="The image service did not answer within "
            f"{self._request_timeout:g} seconds; try again in a moment.",
            timeout_detail=f"{op} {method} timed out",
        ):
            async with session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                data=form,
                params=params,
                timeout=self._timeout,
            ) as response:
                limit = MAX_DOWNLOAD_BYTES if op == "download" else MAX_API_BODY_BYTES
                body = await read_capped(
                    response,
                    limit,
                    provider=PROVIDER,
                    refusal="that cannot be an image, so it was not downloaded.",
                )
                reply = Reply(response.status, response.headers, response.content_type, body)
        if reply.status >= 300:
            raise self._http_error(op, reply)
        return reply

    def _parse(self, op: Operation, reply: Reply, model: type[_M]) -> _M:
        """Validate a 2xx body; HTML or garbage becomes a transient error, never a crash."""
        payload = reply.json()
        if payload is None:
            raise self._not_json(reply)
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            envelope = self._envelope(payload)
            if envelope is not None and (envelope.error is not None or envelope.success is False):
                raise self._error_for_code(op, reply, envelope) from exc
            raise TransientUpstreamError(
                f"The image service sent an answer Easel could not read (HTTP {reply.status}); "
                "try again in a moment.",
                provider=PROVIDER,
                status=reply.status,
                detail=short(reply.body.decode("utf-8", "replace")),
            ) from exc

    @staticmethod
    def _envelope(payload: Any) -> ErrorEnvelope | None:
        if not isinstance(payload, dict):
            return None
        try:
            return ErrorEnvelope.model_validate(payload)
        except ValidationError:
            return None

    def _not_json(self, reply: Reply) -> TransientUpstreamError:
        return TransientUpstreamError(
            "The image service's gateway answered with an error page instead of JSON "
            f"(HTTP {reply.status}); try again in a moment.",
            provider=PROVIDER,
            status=reply.status,
            detail=short(reply.body.decode("utf-8", "replace")),
        )

    def _error_for_code(self, op: Operation, reply: Reply, envelope: ErrorEnvelope) -> EaselError:
        """A 2xx body that is really an error: map its code as if it were the HTTP status."""
        code = (envelope.code or "").lower()
        by_code = {
            "rate_limit_exceeded": 429,
            "insufficient_quota": 402,
            "unauthorized": 401,
            "authentication_error": 401,
            "task_not_found": 404,
            "not_found_error": 404,
            "content_policy_violation": 422,
            "invalid_request": 400,
        }
        status = int(code) if code.isdigit() else by_code.get(code, 400)
        return self._status_error(op, status, reply, envelope)

    def _http_error(self, op: Operation, reply: Reply) -> EaselError:
        """Map a non-2xx reply to the error hierarchy (upstream-apis.md §1.9)."""
        envelope = self._envelope(reply.json())
        if envelope is None and (reply.status >= 500 or reply.status in (408, 429)):
            # The CDN front sends HTML 5xx pages; 4xx pages still say who is at fault.
            error = self._not_json(reply)
            if reply.status == 429:
                return RateLimitedError(
                    error.user_message,
                    provider=PROVIDER,
                    status=429,
                    detail=error.detail,
                    retry_after=parse_retry_after(reply.headers.get("Retry-After")),
                )
            return error
        return self._status_error(op, reply.status, reply, envelope)

    def _status_error(
        self, op: Operation, status: int, reply: Reply, envelope: ErrorEnvelope | None
    ) -> EaselError:
        upstream = short(envelope.text) if envelope else ""
        code = envelope.code if envelope else None
        detail = upstream or short(reply.body.decode("utf-8", "replace"))
        common: dict[str, Any] = {"provider": PROVIDER, "status": status, "code": code}
        said = f": {upstream}" if upstream else ""

        if op == "download" and 400 <= status < 500 and status not in (408, 429):
            return ResultUnavailableError(
                f"The result link expired or is gone (HTTP {status}); run the request again.",
                detail=detail,
                **common,
            )
        if status in (400, 413) or (400 <= status < 500 and status not in _MAPPED_4XX):
            what = "uploaded image" if op == "upload" else "request"
            return UpstreamRejectedError(
                f"The image service refused the {what} (HTTP {status}{said}).",
                detail=detail,
                **common,
            )
        if status == 401:
            return AuthenticationError(
                "The image service rejected the API key (HTTP 401). "
                "An admin needs to check IMAGE_API_KEY.",
                detail=detail,
                **common,
            )
        if status == 403:
            return AuthenticationError(
                "The image service refused this API key access (HTTP 403). "
                f"An admin needs to check IMAGE_API_KEY and its access to {self.spec.model_id}.",
                detail=detail,
                **common,
            )
        if status == 402:
            return InsufficientQuotaError(
                "The image service account is out of balance (HTTP 402). "
                "An admin needs to top it up.",
                detail=detail,
                **common,
            )
        if status == 404:
            message = (
                "The image service does not know this task (HTTP 404); it may have expired."
                if op == "poll"
                else "The image service has no such endpoint (HTTP 404). "
                "An admin needs to check IMAGE_API_BASE_URL."
            )
            return TaskNotFoundError(message, detail=detail, **common)
        if status == 422:
            return SafetyRefusal(
                "The image service's safety system refused this request; "
                "try rewording the prompt or using other images.",
                provider=PROVIDER,
                detail=detail,
            )
        if status == 429:
            return RateLimitedError(
                "The image service is rate limiting requests (HTTP 429); try again in a moment.",
                retry_after=parse_retry_after(reply.headers.get("Retry-After")),
                detail=detail,
                **common,
            )
        return TransientUpstreamError(
            f"The image service had a server error (HTTP {status}); try again in a moment.",
            detail=detail,
            retry_after=parse_retry_after(reply.headers.get("Retry-After")),
            **common,
        )

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
                    log.warning("ToAPIs %s%s failed, giving up: %s", op, where, exc)
                    raise
                log.warning(
                    "ToAPIs %s%s failed (%s); retry %d/%d in %.1fs",
                    op,
                    where,
                    exc,
                    attempt + 1,
                    self._max_retries,
                    delay,
                )
            await self._sleep(delay)
            attempt += 1


_MAPPED_4XX = frozenset({400, 401, 402, 403, 404, 408, 413, 422, 429})


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's protocol
    _PROTOCOL_CHECK: type[ImageProvider] = ToAPIsProvider
