"""Small JPEG previews of streamed partial images, for the progress message.

A partial frame is a full-size image (megabytes of PNG); the progress message only needs a
glimpse, and every edit re-uploads it, so it is shrunk to at most ``PREVIEW_MAX_SIDE`` pixels and
a modest JPEG quality. The work runs in the media threads, never on the event loop.
"""

from __future__ import annotations

import io
import logging

from PIL import Image

from bot.errors import InputError
from bot.media._decode import DECODE_ERRORS, open_image
from bot.media._threads import run_sync

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 512
PREVIEW_QUALITY = 70
_UNREADABLE: tuple[type[Exception], ...] = (InputError, *DECODE_ERRORS)


async def make_preview(data: bytes, *, max_side: int = PREVIEW_MAX_SIDE) -> bytes | None:
    """A JPEG of ``data`` at most ``max_side`` pixels on its long side, or None if unreadable."""
    try:
        return await run_sync(_make_preview, data, max_side)
    except _UNREADABLE as exc:
        log.warning("could not make a preview of a partial image: %s", exc)
        return None


def _make_preview(data: bytes, max_side: int) -> bytes:
    decoded = open_image(data, "partial image")
    image = decoded.image
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=PREVIEW_QUALITY, optimize=True)
    return out.getvalue()
