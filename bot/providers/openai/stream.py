"""Server-sent events of the OpenAI Images API (upstream-apis.md §4.4): previews, then the image.

``iter_sse`` turns a byte stream into events; ``read_stream`` hands partial images to a callback
and returns only the ``*.completed`` images. Once part of a stream was used the call must never be
sent again (it was drawn, and billed), so errors from then on travel as ``StreamStartedError``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from pydantic import ValidationError

from bot.errors import EaselError, TransientUpstreamError
from bot.i18n import Duration, Text, _, _n
from bot.providers.openai.bodies import decode_b64, loads
from bot.providers.openai.errors import ReplyReader
from bot.providers.openai.models import (
    CompletedImageEvent,
    PartialImageEvent,
    StreamErrorEvent,
    StreamEventHead,
)

log = logging.getLogger(__name__)

OnPartial = Callable[[int, bytes], Awaitable[None]]
MAX_SSE_EVENT_BYTES = 64 * 1024 * 1024


@dataclass
class SSEEvent:
    """One server-sent event: its ``event:`` name and its joined ``data:`` lines.

    ``data`` stays bytes: an image event is megabytes, decoded (off the loop) by the reader.
    """

    event: str | None
    data: bytes


class StreamStartedError(Exception):
    """Carries an error raised after a stream was partly used: the call must not be resent."""

    def __init__(self, error: EaselError) -> None:
        super().__init__(str(error))
        self.error = error


def _too_large(what: Text) -> TransientUpstreamError:
    return TransientUpstreamError(
        _("The image service streamed {what} too large to be an image.", what=what),
        provider="stream",
        code="stream_too_large",
    )


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
        key, _colon, value = line.partition(b":")
        value = value.removeprefix(b" ")
        if key == b"event":
            name = value.decode("utf-8", "replace")
        elif key == b"data":
            data.append(value)
            size += len(value)
            if size > max_event_bytes:
                raise _too_large(_("an event"))
        return None

    async for chunk in chunks:
        buffer += chunk
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                start = len(buffer)
                if len(buffer) > max_event_bytes:
                    raise _too_large(_("a line"))
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


async def read_stream(
    response: aiohttp.ClientResponse,
    on_partial: OnPartial | None,
    replies: ReplyReader,
    time_limit: float,
) -> list[bytes]:
    """Partial images go to ``on_partial``; only ``*.completed`` events are results.

    A stream that ends without a completed event (a missing ``[DONE]`` is fine) failed, even
    if partials came: a partial is a blurry preview, never the image the member asked for.
    Whether it stalled (nothing more within ``time_limit``, the call's seconds), was cut or
    simply ended, and how many previews came, is said as is.
    """
    label, provider = replies.label, replies.provider
    finals: list[bytes] = []
    previews = 0
    used = False
    try:
        async for event in iter_sse(response.content.iter_any()):
            text = event.data.strip()
            if not text:
                continue
            if text == b"[DONE]":
                break
            try:
                payload = await loads(text)
            except ValueError:
                log.warning("%s sent an SSE event that is not JSON", label)
                continue
            if not isinstance(payload, dict):
                continue
            if "error" in payload:
                body = StreamErrorEvent.model_validate(payload).error
                raise StreamStartedError(replies.from_body(200, body, None, "stream"))
            kind = StreamEventHead.model_validate(payload).type or event.event or ""
            if kind.endswith(".partial_image"):
                partial = PartialImageEvent.model_validate({**payload, "type": kind})
                used = True
                previews += 1
                if on_partial is not None:
                    await on_partial(
                        partial.partial_image_index, await decode_b64(partial.b64_json)
                    )
            elif kind.endswith(".completed"):
                completed = CompletedImageEvent.model_validate({**payload, "type": kind})
                used = True
                finals.append(await decode_b64(completed.b64_json))
            else:
                log.debug("%s: ignoring SSE event %r", label, kind)
    except ValidationError as exc:
        raise StreamStartedError(
            TransientUpstreamError(
                _("{service} streamed an event Easel could not read; try again.", service=label),
                provider=provider,
                code="stream_error",
                detail=str(exc)[:300],
            )
        ) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        if not used:
            raise
        came = _previews(previews)
        if isinstance(exc, TimeoutError):
            what = _(
                "{service} stopped streaming after {previews} and sent no final image within "
                "{duration}; try again.",
                service=label,
                previews=came,
                duration=Duration(seconds=time_limit),
            )
        else:
            what = _(
                "The connection to {service} was cut after {previews}, before the final image.",
                service=label,
                previews=came,
            )
        raise StreamStartedError(
            TransientUpstreamError(
                what,
                provider=provider,
                code="stream_incomplete",
                detail=f"{type(exc).__name__}: {exc}",
            )
        ) from exc
    if not finals:
        error = TransientUpstreamError(
            _(
                "{service} ended the stream after {previews} without the final image; try again.",
                service=label,
                previews=_previews(previews),
            )
            if previews
            else _("{service} ended the stream without the final image; try again.", service=label),
            provider=provider,
            code="stream_incomplete",
        )
        raise StreamStartedError(error) if used else error
    return finals


def _previews(count: int) -> Text:
    return _n("{count} preview", "{count} previews", count)
