"""HTTP plumbing both provider clients share: reading answers, transport failures, Retry-After.

What an answer *means* (status and error-body mapping, which calls may be sent again) differs per
API and stays in ``toapis`` and ``openai``. This is how the bytes arrive, and how a request
the service never got is told apart from one whose answer was lost: images cost money.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from pydantic import SecretStr

from bot.errors import EaselError, RateLimitedError, ResultUnavailableError, TransientUpstreamError
from bot.i18n import Text, _

DETAIL_CHARS = 300
Sleep = Callable[[float], Awaitable[None]]  # injected, so tests retry without waiting


def short(text: str) -> str:
    """Upstream text trimmed for a message or a log line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= DETAIL_CHARS else flat[: DETAIL_CHARS - 1] + "…"


def body_detail(body: bytes) -> str:
    """An answer's body as a short detail for the logs (its start is enough)."""
    return short(body[:2000].decode("utf-8", "replace"))


def unusable_answer(
    text: Text, *, provider: str, status: int, body: bytes, code: str | None = None
) -> TransientUpstreamError:
    """An answer Easel cannot use (a gateway's error page, a body of another shape): worth
    another try, with the body's start kept for the logs."""
    return TransientUpstreamError(
        text, provider=provider, status=status, code=code, detail=body_detail(body)
    )


def rate_limited(error: TransientUpstreamError, retry_after: float | None) -> RateLimitedError:
    """A 429 answered with a page instead of JSON: ``error``'s words, as a rate limit."""
    return RateLimitedError(
        error.message_text,
        provider=error.provider,
        status=429,
        detail=error.detail,
        retry_after=retry_after,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def log_retry(
    logger: logging.Logger, what: str, why: str, attempt: int, limit: int, delay: float
) -> None:
    """One warning per retry: what failed and why, which try comes next and when."""
    logger.warning("%s %s; retry %d/%d in %.1fs", what, why, attempt + 1, limit, delay)


class NotSentError(TransientUpstreamError):
    """The connection was never made: the service cannot have accepted (or billed) the request."""


class Reply:
    """One HTTP answer, fully read, so error mapping can look at status, headers and body."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self, status: int, headers: CIMultiDictProxy[str], content_type: str, body: bytes
    ) -> None:
        self.status = status
        self.headers = headers
        self.content_type = content_type
        self.body = body

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON (an HTML gateway page, say)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


async def read_capped(
    response: aiohttp.ClientResponse, limit: int, *, provider: str, refusal: Text
) -> bytes:
    """The whole body, refusing to buffer more than ``limit`` bytes (a broken or hostile URL).

    ``refusal`` ends the message: "The image service sent more than N MB; <refusal>".
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise ResultUnavailableError(
                _(
                    "The image service sent more than {size} MB; {refusal}",
                    size=limit // (1024 * 1024),
                    refusal=refusal,
                ),
                provider=provider,
                status=response.status,
            )
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def transport_errors(
    *, provider: str, service: Text | str, timeout: Text, timeout_detail: str = ""
) -> Iterator[None]:
    """Map aiohttp's failures around one request onto ``bot.errors``.

    A refused connection becomes ``NotSentError`` (safe to send again); a timeout or a broken
    connection a plain ``TransientUpstreamError``, since the service may have acted on it.
    ``service`` names the API in messages; ``timeout`` is the whole message for a timeout.
    """
    try:
        yield
    except EaselError:
        raise
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise NotSentError(
            _("Could not connect to {service}; try again in a moment.", service=service),
            provider=provider,
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    except TimeoutError as exc:
        raise TransientUpstreamError(
            timeout, provider=provider, code="timeout", detail=timeout_detail
        ) from exc
    except aiohttp.ClientError as exc:
        raise TransientUpstreamError(
            _("The connection to {service} was lost; try again in a moment.", service=service),
            provider=provider,
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc


_PATH_WORD = re.compile(r"[a-z][a-z_-]{0,31}|v\d{1,2}")


def endpoint_label(path: str) -> str:
    """An API path with ids taken out (``/v1/images/generations/{id}``), few enough to count.

    Only lower-case words and version segments are kept: a task id, a file name or anything
    else a request carries becomes ``{id}``.
    """
    parts = [part for part in path.split("?", 1)[0].split("/") if part]
    return "/" + "/".join(part if _PATH_WORD.fullmatch(part) else "{id}" for part in parts)


def normalise_base_url(base_url: str) -> str:
    """Accept ``https://host``, ``…/`` and ``…/v1``: admins paste all three."""
    return base_url.strip().rstrip("/").removesuffix("/v1")


class Connection:
    """Where one API lives, its key and the HTTP session: what every call of a client shares.

    A caller's session is used and left open; without one, a session is made on first use
    (inside the running loop) and closed by ``close``. The key only goes to ``base_url``: a
    result URL on another host is fetched with ``auth=False``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr,
        *,
        provider: str,
        service: Text | str,
        session: aiohttp.ClientSession | None = None,
        refusal: Text,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self.provider = provider
        self.service = service  # names the API in messages
        self._api_key = api_key
        self._session = session
        self._owns_session = session is None
        self._refusal = refusal  # ends "sent more than N MB; …" (see ``read_capped``)

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return f"{self.base_url}{path}"

    def trace_context(self, url: str, *, auth: bool = True) -> dict[str, str]:
        """What a request tells aiohttp's tracing (``trace_request_ctx``): provider and endpoint.

        The session's trace configs (metrics, when the bot serves them) read it; a request to
        another host (a result link) is a ``download``.
        """
        inside = auth and url.startswith(self.base_url)
        endpoint = endpoint_label(url.removeprefix(self.base_url)) if inside else "download"
        return {"provider": self.provider, "endpoint": endpoint}

    def headers(self, accept: str = "application/json") -> dict[str, str]:
        """The headers of a call to the API itself: ``Accept`` and the Bearer key."""
        return {
            "Accept": accept,
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
        }

    @property
    def session(self) -> aiohttp.ClientSession:
        """The caller's session, or our own (made again if it was closed)."""
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    @property
    def own_session(self) -> aiohttp.ClientSession | None:
        """The session this connection made and must close, if any."""
        return self._session if self._owns_session else None

    async def close(self) -> None:
        """Close the session if this connection made it; a caller's session stays open."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_session:
            self._session = None

    async def read(self, response: aiohttp.ClientResponse, limit: int) -> bytes:
        """A whole body, at most ``limit`` bytes."""
        return await read_capped(response, limit, provider=self.provider, refusal=self._refusal)

    def transport_errors(
        self, timeout_message: Text, timeout_detail: str = ""
    ) -> AbstractContextManager[None]:
        """``transport_errors`` for a call to this API (a context manager)."""
        return transport_errors(
            provider=self.provider,
            service=self.service,
            timeout=timeout_message,
            timeout_detail=timeout_detail,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        limit: int,
        time_limit: aiohttp.ClientTimeout,
        timeout_message: Text,
        timeout_detail: str = "",
        auth: bool = True,
        **options: Any,
    ) -> Reply:
        """Send one request and read its whole answer; transport failures become ``bot.errors``.

        ``options`` go to aiohttp (``json``, ``data``, ``params``); the status is not judged
        here: what an answer means is each API's own business.
        """
        with self.transport_errors(timeout_message, timeout_detail):
            async with self.session.request(
                method,
                url,
                headers=self.headers() if auth else {},
                timeout=time_limit,
                trace_request_ctx=self.trace_context(url, auth=auth),
                **options,
            ) as response:
                body = await self.read(response, limit)
                return Reply(response.status, response.headers, response.content_type, body)
