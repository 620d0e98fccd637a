"""The HTTP client for OpenAI-compatible image APIs (InfinityBlue, Starrise/Anyfast, OpenAI).

Facts come from ``shared/reference/upstream-apis.md`` §2–§5; what differs per API is data in
``profiles.toml``. ``OpenAICompatClient`` speaks HTTP: ``POST /v1/images/generations`` and
``/v1/images/edits`` (bodies in ``openai.bodies``), reads ``b64_json`` or ``url`` results, or an
SSE stream of previews and a final image (``openai.stream``), and maps every failure onto
``bot.errors`` (``openai.errors``). A call can take many minutes (4K, high quality, relays), so
timeouts are long. ``openai.tasks.OpenAICompatProvider`` fits it into the engine's task-shaped
``ImageProvider``.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import random
from collections.abc import Sequence
from typing import Literal

import aiohttp
from pydantic import SecretStr

from bot.errors import (
    InputError,
    RateLimitedError,
    ResultUnavailableError,
    TransientUpstreamError,
)
from bot.i18n import Duration, _
from bot.providers._bodies import ModelList
from bot.providers._downloads import download_with_retries
from bot.providers._http import (
    Connection,
    NotSentError,
    Reply,
    Sleep,
    body_detail,
    log_retry,
)
from bot.providers.openai.bodies import (
    InputFile,
    Payload,
    decode_b64,
    generation_payload,
    json_edit_payload,
    multipart_edit_payload,
)
from bot.providers.openai.errors import ReplyReader, retry_after_seconds
from bot.providers.openai.models import GenerationBody, ImageDatum, ImageOptions, ImagesResponse
from bot.providers.openai.stream import OnPartial, StreamStartedError, read_stream
from bot.providers.profiles import ProviderProfile

log = logging.getLogger(__name__)

Moderation = Literal["auto", "low"]

MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # ten 4K PNGs in base64; anything larger is broken
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
MAX_ERROR_BYTES = 1024 * 1024
MAX_RETRY_AFTER = 60.0  # a longer Retry-After goes to the engine (failover) instead of a sleep
CONNECT_TIMEOUT = 30.0
BACKOFF_BASE = 1.0


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
        self.http = Connection(
            base_url or profile.base_url,
            api_key,
            provider=profile.name,
            service=profile.label,
            session=session,
            refusal=_("that cannot be a result, so it was not read."),
        )
        self.replies = ReplyReader(provider=profile.name, label=profile.label)
        self.request_timeout = request_timeout or profile.request_timeout
        self._max_retries = max(0, max_retries)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"OpenAICompatClient(provider={self.provider!r}, base_url={self.http.base_url!r})"

    async def close(self) -> None:
        """Close the session if this client created it."""
        await self.http.close()

    # ------------------------------------------------------------------ public calls

    async def generate(
        self, options: GenerationBody, *, on_partial: OnPartial | None = None
    ) -> list[bytes]:
        """Images for a text prompt (``POST /v1/images/generations``)."""
        payload = generation_payload(options)
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

        The profile's ``edit_transport`` says how: JSON with data URLs (or the URLs given), or
        multipart files (an input given as a URL is downloaded first).
        """
        if not images:
            raise InputError(_("An edit needs at least one image."), field="references")
        if self.profile.edit_transport == "json":
            payload = await json_edit_payload(options, images, mask)
        else:
            files = [await self._file_bytes(image) for image in images]
            mask_file = await self._file_bytes(mask) if mask is not None else None
            payload = multipart_edit_payload(options, files, mask_file)
        return await self._call("/v1/images/edits", payload, bool(options.stream), on_partial)

    async def download(self, url: str) -> bytes:
        """Fetch a result URL at once (they are temporary); no key is sent to another host.

        The image exists (and is charged) by now, so a 404, a 5xx or a broken connection is
        tried again with backoff before the result is given up (``download_with_retries``).
        """

        async def once() -> bytes:
            reply = await self._request("GET", url, auth=False, limit=MAX_DOWNLOAD_BYTES)
            if reply.status < 300:
                return reply.body
            detail = body_detail(reply.body)
            if reply.status >= 500 or reply.status in (408, 429):
                raise TransientUpstreamError(
                    _(
                        "{service}'s result link answered HTTP {status}; try again in a moment.",
                        service=self.profile.label,
                        status=str(reply.status),
                    ),
                    provider=self.provider,
                    status=reply.status,
                    detail=detail,
                    retry_after=retry_after_seconds(reply.headers),
                )
            raise ResultUnavailableError(
                _(
                    "The image service's result link failed (HTTP {status}); "
                    "run the request again.",
                    status=str(reply.status),
                ),
                provider=self.provider,
                status=reply.status,
                detail=detail,
            )

        return await download_with_retries(once, url=url, provider=self.provider, sleep=self._sleep)

    async def models(self) -> list[str]:
        """Model ids the key may use (``GET /v1/models``)."""
        reply = await self._request("GET", self.http.url("/v1/models"), limit=MAX_ERROR_BYTES)
        if reply.status >= 300:
            raise await self.replies.http_error(reply.status, reply.headers, reply.body)
        parsed = await self.replies.parse(reply.body, ModelList, reply.status)
        return [entry.id for entry in parsed.data]

    # ------------------------------------------------------------------ one call, with retries

    async def _call(
        self, path: str, payload: Payload, stream: bool, on_partial: OnPartial | None
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
            except StreamStartedError as exc:
                raise exc.error from None  # some of the stream was used: never sent again
            except TransientUpstreamError as exc:
                delay = self._retry_delay(attempt, exc, server_errors)
                if delay is None:
                    raise
                if not isinstance(exc, RateLimitedError | NotSentError):
                    server_errors += 1
                what = f"{self.profile.label} {path}"
                log_retry(log, what, f"failed ({exc})", attempt, self._max_retries, delay)
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
        headers = self.http.headers("text/event-stream" if stream else "application/json")
        if content_type is not None:
            headers["Content-Type"] = content_type
        with self.http.transport_errors(
            _(
                "{service} did not answer within {duration}; try again later.",
                service=self.profile.label,
                duration=Duration(seconds=self.request_timeout),
            ),
            f"POST {path} timed out",
        ):
            async with self.http.session.post(
                self.http.url(path),
                data=data,
                headers=headers,
                timeout=self._timeout(),
                trace_request_ctx=self.http.trace_context(self.http.url(path)),
            ) as response:
                if response.status >= 300:
                    body = await self.http.read(response, MAX_ERROR_BYTES)
                    raise await self.replies.http_error(response.status, response.headers, body)
                if response.content_type == "text/event-stream":
                    return await read_stream(
                        response, on_partial, self.replies, self.request_timeout
                    )
                body = await self.http.read(response, MAX_RESPONSE_BYTES)
                parsed = await self.replies.parse(body, ImagesResponse, response.status)
                return await self._images(parsed)

    async def _images(self, parsed: ImagesResponse) -> list[bytes]:
        """The result images as bytes: base64 decoded in a thread, URLs downloaded at once."""
        if not parsed.data:
            raise TransientUpstreamError(
                _("{service} answered without any image; try again.", service=self.profile.label),
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
                    _(
                        "{service} sent an image that is not valid base64.",
                        service=self.profile.label,
                    ),
                    provider=self.provider,
                ) from exc
        if datum.url:
            return await self.download(datum.url)
        raise TransientUpstreamError(
            _(
                "{service} sent a result with neither an image nor a link.",
                service=self.profile.label,
            ),
            provider=self.provider,
            code="no_image",
        )

    async def _file_bytes(self, image: InputFile) -> InputFile:
        """Multipart needs bytes: an input given as a URL is downloaded first."""
        if image.data or image.url is None:
            return image
        return InputFile(image.filename, image.content_type, await self.download(image.url))

    # ------------------------------------------------------------------ HTTP plumbing

    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.request_timeout, sock_connect=CONNECT_TIMEOUT)

    async def _request(self, method: str, url: str, *, limit: int, auth: bool = True) -> Reply:
        return await self.http.request(
            method,
            url,
            auth=auth,
            limit=limit,
            time_limit=self._timeout(),
            timeout_message=_(
                "{service} did not answer in time; try again in a moment.",
                service=self.profile.label,
            ),
        )
