"""The HTTP client for OpenAI-compatible image APIs (InfinityBlue, Starrise/Anyfast, OpenAI).

Facts come from ``shared/reference/upstream-apis.md`` §2–§5; what differs per API is data in
``profiles.toml``. Two layers:

* ``OpenAICompatClient`` speaks HTTP: ``POST /v1/images/generations`` (JSON) and
  ``/v1/images/edits`` (JSON with data URLs, or multipart ``image``/``image[]`` + ``mask``), reads
  ``b64_json`` or ``url`` results, or an SSE stream of partial previews and a final image, and maps
  every failure onto ``bot.errors``. A call can take many minutes (4K, high quality, relays), so
  timeouts are long; JSON and base64 of large images are decoded in threads.
* ``bot.providers.openai.tasks.OpenAICompatProvider`` fits that into the engine's task-shaped
  ``ImageProvider`` (local tasks, results from memory).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import aiohttp
from multidict import CIMultiDictProxy
from pydantic import BaseModel, SecretStr, ValidationError

from bot.errors import (
    AuthenticationError,
    EaselError,
    InputError,
    InsufficientQuotaError,
    RateLimitedError,
    ResultUnavailableError,
    SafetyRefusal,
    TaskNotFoundError,
    TransientUpstreamError,
    UpstreamRejectedError,
)
from bot.providers._http import (
    NotSentError,
    Reply,
    parse_retry_after,
    read_capped,
    short,
    transport_errors,
)
from bot.providers.openai.models import (
    CompletedImageEvent,
    EditJSONBody,
    GenerationBody,
    ImageDatum,
    ImageOptions,
    ImagesResponse,
    ModelListResponse,
    OpenAIErrorBody,
    OpenAIErrorEnvelope,
    PartialImageEvent,
    StreamErrorEvent,
    StreamEventHead,
)
from bot.providers.profiles import ProviderProfile

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
OnPartial = Callable[[int, bytes], Awaitable[None]]
Moderation = Literal["auto", "low"]
_M = TypeVar("_M", bound=BaseModel)

MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # ten 4K PNGs in base64; anything larger is broken
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
MAX_ERROR_BYTES = 1024 * 1024
MAX_SSE_EVENT_BYTES = 64 * 1024 * 1024
MAX_RETRY_AFTER = 60.0  # a longer Retry-After goes to the engine (failover) instead of a sleep
THREAD_THRESHOLD = 64 * 1024  # JSON or base64 longer than this is decoded off the event loop
CONNECT_TIMEOUT = 30.0
BACKOFF_BASE = 1.0
_TOO_LARGE = "that cannot be a result, so it was not read."
# Codes and words that mean the service's safety system said no (§4.5), not a bad request.
_SAFETY_CODES = ("moderation_blocked", "content_policy_violation", "content_filter")
_SAFETY_WORDS = ("safety system", "content policy", "moderation")


def is_moderation_error(error: OpenAIErrorBody | None) -> bool:
    """True when an error body is a safety refusal (``moderation_blocked`` and its relatives)."""
    if error is None:
        return False
    code = (error.code or "").lower()
    if any(word in code for word in _SAFETY_CODES):
        return True
    text = f"{error.type or ''} {error.message or ''}".lower()
    return any(word in text for word in _SAFETY_WORDS)


def retry_after_seconds(headers: CIMultiDictProxy[str]) -> float | None:
    """``retry-after-ms`` (OpenAI) or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("Retry-After"))


async def _loads(data: bytes | str) -> Any:
    """JSON from a body; a large one (images in base64) is parsed in a thread."""
    if len(data) > THREAD_THRESHOLD:
        return await asyncio.to_thread(json.loads, data)
    return json.loads(data)


async def decode_b64(text: str) -> bytes:
    """Base64 to bytes, off the event loop for anything image-sized."""
    if len(text) > THREAD_THRESHOLD:
        return await asyncio.to_thread(base64.b64decode, text, validate=False)
    return base64.b64decode(text, validate=False)


def _data_url(image: InputFile) -> str:
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode('ascii')}"


@dataclass(frozen=True)
class InputFile:
    """An image to send: bytes and type, or a URL the API fetches itself (JSON edits only)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str | None = None


@dataclass
class SSEEvent:
    """One server-sent event: its ``event:`` name and its joined ``data:`` lines.

    ``data`` stays bytes: an image event is megabytes, decoded (off the loop) by the reader.
    """

    event: str | None
    data: bytes


async def iter_sse(
    chunks: AsyncIterator[bytes], *, max_event_bytes: int = MAX_SSE_EVENT_BYTES
) -> AsyncIterator[SSEEvent]:
    """Parse an SSE byte stream into events (WHATWG rules: ``data:`` lines joined, blank = end).

    Lines can be many megabytes (a base64 image), so this splits its own buffer instead of using
    ``readline`` (aiohttp caps a line at 128 KiB). A stream that ends without a blank line still
    yields its last event.
    """
    buffer = bytearray()
    start = 0  # where to look for the next newline
    name: str | None = None
    data: list[bytes] = []
    size = 0

    def line_events(raw: bytes) -> SSEEvent | None:
        nonlocal name, data, size
        line = raw.rstrip(b"\r")
        if not line:
            if not data and name is None:
                return None
            event = SSEEvent(name, b"\n".join(data))
            name, data, size = None, [], 0
            return event
        if line.startswith(b":"):
            return None
        key, _, value = line.partition(b":")
        value = value.removeprefix(b" ")
        if key == b"event":
            name = value.decode("utf-8", "replace")
        elif key == b"data":
            data.append(value)
            size += len(value)
            if size > max_event_bytes:
                raise TransientUpstreamError(
                    "The image service streamed an event too large to be an image.",
                    provider="stream",
                    code="stream_too_large",
                )
        return None

    async for chunk in chunks:
        buffer += chunk
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                start = len(buffer)
                if len(buffer) > max_event_bytes:
                    raise TransientUpstreamError(
                        "The image service streamed a line too long to be an image.",
                        provider="stream",
                        code="stream_too_large",
                    )
                break
            raw = bytes(buffer[:newline])
            del buffer[: newline + 1]
            start = 0
            event = line_events(raw)
            if event is not None:
                yield event
    if buffer:
        event = line_events(bytes(buffer))
        if event is not None:
            yield event
    tail = line_events(b"")
    if tail is not None:
        yield tail


class OpenAICompatClient:
    """HTTP for one OpenAI-compatible Images API (see the module docstring)."""

    def __init__(
        self,
        profile: ProviderProfile,
        api_key: SecretStr,
        *,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float | None = None,
        max_retries: int = 1,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.profile = profile
        self.provider = profile.name
        self.base_url = (base_url or profile.base_url).strip().rstrip("/").removesuffix("/v1")
        self._api_key = api_key
        self._session = session
        self._owns_session = session is None
        self.request_timeout = request_timeout or profile.request_timeout
        self._max_retries = max(0, max_retries)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"OpenAICompatClient(provider={self.provider!r}, base_url={self.base_url!r})"

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_session:
            self._session = None

    # ------------------------------------------------------------------ public calls

    async def generate(
        self, options: GenerationBody, *, on_partial: OnPartial | None = None
    ) -> list[bytes]:
        """Images for a text prompt (``POST /v1/images/generations``)."""
        body = options.model_dump(exclude_none=True)

        async def payload() -> tuple[bytes | aiohttp.FormData, str | None]:
            return await _json_bytes(body), "application/json"

        return await self._call("/v1/images/generations", payload, bool(options.stream), on_partial)

    async def edit(
        self,
        options: ImageOptions,
        images: Sequence[InputFile],
        mask: InputFile | None = None,
        *,
        on_partial: OnPartial | None = None,
    ) -> list[bytes]:
        """Images edited from (or guided by) ``images`` (``POST /v1/images/edits``).

        JSON transport (InfinityBlue): ``image`` + ``images`` as data URLs (or the URLs given).
        Multipart (Starrise, OpenAI): one ``image`` file, or ``image[]`` files for several, and
        ``mask`` as a file (Starrise: "``image`` and ``image[]`` cannot be used together").
        """
        if not images:
            raise InputError("An edit needs at least one image.", field="references")
        fields = options.model_dump(exclude_none=True)
        if self.profile.edit_transport == "json":
            urls = await asyncio.gather(*(_as_url(image) for image in images))
            mask_url = await _as_url(mask) if mask is not None else None
            request = EditJSONBody(
                **fields, image=urls[0], images=list(urls[1:]) or None, mask=mask_url
            )
            body = await _json_bytes(request.model_dump(exclude_none=True))

            async def payload() -> tuple[bytes | aiohttp.FormData, str | None]:
                return body, "application/json"

        else:
            files = [await self._file_bytes(image) for image in images]
            mask_file = await self._file_bytes(mask) if mask is not None else None

            async def payload() -> tuple[bytes | aiohttp.FormData, str | None]:
                form = aiohttp.FormData()  # sent once; built again for every attempt
                for name, value in fields.items():
                    form.add_field(name, _form_value(value))
                image_field = "image" if len(files) == 1 else "image[]"
                for image in files:
                    form.add_field(
                        image_field,
                        image.data,
                        filename=image.filename,
                        content_type=image.content_type,
                    )
                if mask_file is not None:
                    form.add_field(
                        "mask",
                        mask_file.data,
                        filename=mask_file.filename,
                        content_type="image/png",
                    )
                return form, None

        return await self._call("/v1/images/edits", payload, bool(options.stream), on_partial)

    async def download(self, url: str) -> bytes:
        """Fetch a result URL at once (they are temporary); no key is sent to another host."""
        reply = await self._request("GET", url, auth=False, limit=MAX_DOWNLOAD_BYTES)
        if reply.status >= 300:
            raise ResultUnavailableError(
                f"The image service's result link failed (HTTP {reply.status}); "
                "run the request again.",
                provider=self.provider,
                status=reply.status,
                detail=short(reply.body[:2000].decode("utf-8", "replace")),
            )
        return reply.body

    async def models(self) -> list[str]:
        """Model ids the key may use (``GET /v1/models``)."""
        reply = await self._request("GET", self._url("/v1/models"), limit=MAX_ERROR_BYTES)
        if reply.status >= 300:
            raise await self._http_error(reply.status, reply.headers, reply.body)
        parsed = await self._parse(reply.body, ModelListResponse, reply.status)
        return [entry.id for entry in parsed.data]

    # ------------------------------------------------------------------ one call, with retries

    async def _call(
        self,
        path: str,
        payload: Callable[[], Awaitable[tuple[bytes | aiohttp.FormData, str | None]]],
        stream: bool,
        on_partial: OnPartial | None,
    ) -> list[bytes]:
        """POST and read the images; retry only what cannot have made an image.

        429 (with a short ``Retry-After``) and refused connections are retried; a 5xx once, after
        a short pause. A timeout is not: after minutes the service may have drawn (and billed)
        the image, and the engine would rather fail over than wait that long again.
        """
        attempt = 0
        server_errors = 0
        while True:
            try:
                data, content_type = await payload()
                return await self._post_images(path, data, content_type, stream, on_partial)
            except _StreamStartedError as exc:
                raise exc.error from None  # some of the stream was used: never sent again
            except TransientUpstreamError as exc:
                delay = self._retry_delay(attempt, exc, server_errors)
                if delay is None:
                    raise
                if not isinstance(exc, RateLimitedError | NotSentError):
                    server_errors += 1
                log.warning(
                    "%s %s failed (%s); retry %d/%d in %.1fs",
                    self.profile.label,
                    path,
                    exc,
                    attempt + 1,
                    self._max_retries,
                    delay,
                )
            await self._sleep(delay)
            attempt += 1

    def _retry_delay(
        self, attempt: int, exc: TransientUpstreamError, server_errors: int
    ) -> float | None:
        if attempt >= self._max_retries or exc.code == "timeout":
            return None
        if isinstance(exc, RateLimitedError):
            if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER:
                return None
            base = exc.retry_after if exc.retry_after is not None else BACKOFF_BASE * 2.0**attempt
            return base + random.uniform(0, 0.25)
        if isinstance(exc, NotSentError):
            return BACKOFF_BASE * 2.0**attempt * random.uniform(0.5, 1.0)
        if server_errors >= 1 or exc.code in ("stream_incomplete", "stream_error"):
            return None  # one retry for a server error; then let the engine fail over
        if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER:
            return None
        return exc.retry_after or BACKOFF_BASE * random.uniform(0.5, 1.0)

    async def _post_images(
        self,
        path: str,
        data: bytes | aiohttp.FormData,
        content_type: str | None,
        stream: bool,
        on_partial: OnPartial | None,
    ) -> list[bytes]:
        session = self._session_for_call()
        headers = self._headers(stream)
        if content_type is not None:
            headers["Content-Type"] = content_type
        with transport_errors(
            provider=self.provider,
            service=self.profile.label,
            timeout=f"{self.profile.label} did not answer within "
            f"{self.request_timeout / 60:g} minutes; try again later.",
            timeout_detail=f"POST {path} timed out",
        ):
            async with session.post(
                self._url(path), data=data, headers=headers, timeout=self._timeout()
            ) as response:
                if response.status >= 300:
                    body = await self._read(response, MAX_ERROR_BYTES)
                    raise await self._http_error(response.status, response.headers, body)
                if response.content_type == "text/event-stream":
                    return await self._read_stream(response, on_partial)
                body = await self._read(response, MAX_RESPONSE_BYTES)
                parsed = await self._parse(body, ImagesResponse, response.status)
                return await self._images(parsed)

    async def _read_stream(
        self, response: aiohttp.ClientResponse, on_partial: OnPartial | None
    ) -> list[bytes]:
        """Partial images go to ``on_partial``; only ``*.completed`` events are results.

        A stream that ends without a completed event (a missing ``[DONE]`` is fine) failed, even
        if partials came: a partial is a blurry preview, never the image the member asked for.
        """
        finals: list[bytes] = []
        used = False
        try:
            async for event in iter_sse(response.content.iter_any()):
                text = event.data.strip()
                if not text:
                    continue
                if text == b"[DONE]":
                    break
                try:
                    payload = await _loads(text)
                except ValueError:
                    log.warning("%s sent an SSE event that is not JSON", self.profile.label)
                    continue
                if not isinstance(payload, dict):
                    continue
                if "error" in payload:
                    body = StreamErrorEvent.model_validate(payload).error
                    raise _StreamStartedError(self._error_from_body(200, body, None, "stream"))
                kind = StreamEventHead.model_validate(payload).type or event.event or ""
                if kind.endswith(".partial_image"):
                    partial = PartialImageEvent.model_validate({**payload, "type": kind})
                    used = True
                    if on_partial is not None:
                        await on_partial(
                            partial.partial_image_index, await decode_b64(partial.b64_json)
                        )
                elif kind.endswith(".completed"):
                    completed = CompletedImageEvent.model_validate({**payload, "type": kind})
                    used = True
                    finals.append(await decode_b64(completed.b64_json))
                else:
                    log.debug("%s: ignoring SSE event %r", self.profile.label, kind)
        except ValidationError as exc:
            raise _StreamStartedError(
                TransientUpstreamError(
                    f"{self.profile.label} streamed an event Easel could not read; try again.",
                    provider=self.provider,
                    code="stream_error",
                    detail=str(exc)[:300],
                )
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            if not used:
                raise
            raise _StreamStartedError(
                TransientUpstreamError(
                    f"The stream from {self.profile.label} broke before the final image.",
                    provider=self.provider,
                    code="stream_incomplete",
                    detail=f"{type(exc).__name__}: {exc}",
                )
            ) from exc
        if not finals:
            error = TransientUpstreamError(
                f"{self.profile.label} ended the stream without the final image "
                "(only previews came); try again.",
                provider=self.provider,
                code="stream_incomplete",
            )
            raise _StreamStartedError(error) if used else error
        return finals

    async def _images(self, parsed: ImagesResponse) -> list[bytes]:
        """The result images as bytes: base64 decoded in a thread, URLs downloaded at once."""
        if not parsed.data:
            raise TransientUpstreamError(
                f"{self.profile.label} answered without any image; try again.",
                provider=self.provider,
                code="no_image",
            )
        return list(await asyncio.gather(*(self._datum_bytes(datum) for datum in parsed.data)))

    async def _datum_bytes(self, datum: ImageDatum) -> bytes:
        if datum.b64_json:
            try:
                return await decode_b64(datum.b64_json)
            except (binascii.Error, ValueError) as exc:
                raise ResultUnavailableError(
                    f"{self.profile.label} sent an image that is not valid base64.",
                    provider=self.provider,
                ) from exc
        if datum.url:
            return await self.download(datum.url)
        raise TransientUpstreamError(
            f"{self.profile.label} sent a result with neither an image nor a link.",
            provider=self.provider,
            code="no_image",
        )

    async def _file_bytes(self, image: InputFile) -> InputFile:
        """Multipart needs bytes: an input given as a URL is downloaded first."""
        if image.data or image.url is None:
            return image
        return InputFile(image.filename, image.content_type, await self.download(image.url))

    # ------------------------------------------------------------------ HTTP plumbing

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _headers(self, stream: bool = False) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": "text/event-stream" if stream else "application/json",
        }

    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.request_timeout, sock_connect=CONNECT_TIMEOUT)

    def _session_for_call(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def _request(self, method: str, url: str, *, limit: int, auth: bool = True) -> Reply:
        session = self._session_for_call()
        headers = self._headers() if auth else {}
        with transport_errors(
            provider=self.provider,
            service=self.profile.label,
            timeout=f"{self.profile.label} did not answer in time; try again in a moment.",
        ):
            async with session.request(
                method, url, headers=headers, timeout=self._timeout()
            ) as response:
                body = await self._read(response, limit)
                return Reply(response.status, response.headers, response.content_type, body)

    async def _read(self, response: aiohttp.ClientResponse, limit: int) -> bytes:
        return await read_capped(response, limit, provider=self.provider, refusal=_TOO_LARGE)

    async def _parse(self, body: bytes, model: type[_M], status: int) -> _M:
        """A 2xx body as ``model``; HTML or garbage is a transient error, an error body mapped."""
        try:
            payload = await _loads(body)
        except (ValueError, UnicodeDecodeError):
            raise self._not_json(status, body) from None
        if isinstance(payload, dict) and "error" in payload and not payload.get("data"):
            envelope = _envelope(payload)
            if envelope is not None:
                raise self._error_from_body(400, envelope.error, None, "answer")
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise TransientUpstreamError(
                f"{self.profile.label} sent an answer Easel could not read (HTTP {status}); "
                "try again in a moment.",
                provider=self.provider,
                status=status,
                detail=short(body[:2000].decode("utf-8", "replace")),
            ) from exc

    def _not_json(self, status: int, body: bytes) -> TransientUpstreamError:
        return TransientUpstreamError(
            f"{self.profile.label}'s gateway answered with an error page instead of JSON "
            f"(HTTP {status}); try again in a moment.",
            provider=self.provider,
            status=status,
            code="not_json",
            detail=short(body[:2000].decode("utf-8", "replace")),
        )

    async def _http_error(
        self, status: int, headers: CIMultiDictProxy[str], body: bytes
    ) -> EaselError:
        """Map a non-2xx answer (§2 errors, §4.5): who is at fault decides the class."""
        try:
            payload = await _loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        envelope = _envelope(payload)
        retry_after = retry_after_seconds(headers)
        if envelope is None:
            if status >= 500 or status in (408, 429):
                error = self._not_json(status, body)
                if status == 429:
                    return RateLimitedError(
                        error.user_message,
                        provider=self.provider,
                        status=429,
                        detail=error.detail,
                        retry_after=retry_after,
                    )
                error.retry_after = retry_after
                return error
            envelope = OpenAIErrorEnvelope(
                error=OpenAIErrorBody(message=body[:300].decode("utf-8", "replace"))
            )
        return self._error_from_body(status, envelope.error, retry_after, "request")

    def _error_from_body(
        self, status: int, error: OpenAIErrorBody, retry_after: float | None, what: str
    ) -> EaselError:
        label = self.profile.label
        said = short(error.message or "")
        detail = f"{error.type or ''} {error.code or ''}: {said}".strip()
        common: dict[str, Any] = {"provider": self.provider, "status": status, "code": error.code}
        if is_moderation_error(error):
            return SafetyRefusal(
                f"{label}'s safety system refused this request. Reword the prompt (or use "
                "other images) and try again.",
                provider=self.provider,
                detail=detail,
            )
        code = (error.code or "").lower()
        kind = (error.type or "").lower()
        if status == 402 or "insufficient_quota" in (code, kind) or code == "billing_hard_limit":
            return InsufficientQuotaError(
                f"The {label} account is out of balance. An admin needs to top it up.",
                detail=detail,
                **common,
            )
        if status == 401:
            return AuthenticationError(
                f"{label} rejected the API key (HTTP 401). An admin needs to check it.",
                detail=detail,
                **common,
            )
        if status == 403:
            return AuthenticationError(
                f"{label} refused this API key access to the model (HTTP 403"
                f"{': ' + said if said else ''}). An admin needs to check the key's access.",
                detail=detail,
                **common,
            )
        if status == 404:
            return TaskNotFoundError(
                f"{label} has no such endpoint or model (HTTP 404). An admin needs to check "
                "its base URL and model id.",
                detail=detail,
                **common,
            )
        if status == 413:
            return UpstreamRejectedError(
                f"{label} refused the images as too large (HTTP 413). Use smaller or fewer images.",
                detail=detail,
                **common,
            )
        if status == 429:
            return RateLimitedError(
                f"{label} is rate limiting requests (HTTP 429); try again in a moment.",
                retry_after=retry_after,
                detail=detail,
                **common,
            )
        if status >= 500 or status in (408, 409) or kind in ("server_error", "api_error"):
            where = f"HTTP {status}" if what != "stream" else "in the stream"
            return TransientUpstreamError(
                f"{label} had a server error ({where}); try again in a moment.",
                retry_after=retry_after,
                detail=detail,
                **{**common, "code": error.code or ("stream_error" if what == "stream" else None)},
            )
        where = "in the stream" if what == "stream" else f"HTTP {status}"
        return UpstreamRejectedError(
            f"{label} refused the {what} ({where}{': ' + said if said else ''}).",
            detail=detail,
            **common,
        )


class _StreamStartedError(Exception):
    """Carries an error raised after a stream was partly used: the call must not be resent."""

    def __init__(self, error: EaselError) -> None:
        super().__init__(str(error))
        self.error = error


def _envelope(payload: Any) -> OpenAIErrorEnvelope | None:
    if not isinstance(payload, dict) or "error" not in payload:
        return None
    try:
        return OpenAIErrorEnvelope.model_validate(payload)
    except ValidationError:
        return None


async def _json_bytes(body: dict[str, Any]) -> bytes:
    """JSON-encode a body; data URLs make it large, so encoding runs in a thread."""
    return await asyncio.to_thread(lambda: json.dumps(body).encode("utf-8"))


async def _as_url(image: InputFile) -> str:
    """An image for a JSON body: its URL, or its bytes as a data URL (encoded in a thread)."""
    if image.url is not None and not image.data:
        return image.url
    return await asyncio.to_thread(_data_url, image)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------- the provider
