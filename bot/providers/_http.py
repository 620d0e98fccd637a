"""HTTP plumbing both provider clients share: reading answers, transport failures, Retry-After.

What an answer *means* (status and error-body mapping, which calls may be sent again) differs per
API and stays in ``toapis`` and ``openai``. This is how the bytes arrive, and how a request
the service never got is told apart from one whose answer was lost: images cost money.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from bot.errors import EaselError, ResultUnavailableError, TransientUpstreamError

DETAIL_CHARS = 300


def short(text: str) -> str:
    """Upstream text trimmed for a message or a log line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= DETAIL_CHARS else flat[: DETAIL_CHARS - 1] + "…"


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
    response: aiohttp.ClientResponse, limit: int, *, provider: str, refusal: str
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
                f"The image service sent more than {limit // (1024 * 1024)} MB; {refusal}",
                provider=provider,
                status=response.status,
            )
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def transport_errors(
    *, provider: str, service: str, timeout: str, timeout_detail: str = ""
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
            f"Could not connect to {service}; try again in a moment.",
            provider=provider,
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    except TimeoutError as exc:
        raise TransientUpstreamError(
            timeout, provider=provider, code="timeout", detail=timeout_detail
        ) from exc
    except aiohttp.ClientError as exc:
        raise TransientUpstreamError(
            f"The connection to {service} broke; try again in a moment.",
            provider=provider,
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
