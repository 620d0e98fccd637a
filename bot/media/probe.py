"""Read what an image is (format, size, mode, alpha, frames) and whether Easel can use it."""

from __future__ import annotations

import logging

from PIL import Image
from pydantic import BaseModel, ConfigDict

from bot.media._decode import DECODE_ERRORS, open_image
from bot.media._threads import run_sync

log = logging.getLogger(__name__)

_EXIF_ORIENTATION = 0x0112
_SWAPS_SIDES = frozenset({5, 6, 7, 8})  # orientations that turn the picture by 90 degrees


class ImageInfo(BaseModel):
    """What a file holds, for validation and messages."""

    model_config = ConfigDict(frozen=True)

    format: str  # Pillow's name: "PNG", "JPEG", "MPO" (phone JPEG), "WEBP", "GIF", "BMP", ...
    mime_type: str | None
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    mode: str  # Pillow mode of the first frame: "RGB", "RGBA", "P", "L", ...
    has_alpha: bool  # an alpha channel or a transparent colour (pixels may still be opaque)
    frames: int  # 1 for still images
    byte_size: int
    orientation: int  # EXIF orientation 1-8; 1 = upright


async def probe(data: bytes, *, filename: str = "image") -> ImageInfo:
    """Describe ``data``, decoding its first frame fully so damaged files are caught now.

    Raises ``InputError`` naming ``filename`` for non-images, damaged or cut-short files,
    files over 50 MB (refused before decoding) and images over 64 megapixels.
    """
    return await run_sync(_probe, data, filename)


def _probe(data: bytes, filename: str) -> ImageInfo:
    """Sync body of ``probe`` (runs in a media thread)."""
    decoded = open_image(data, filename)
    image = decoded.image
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except DECODE_ERRORS:
        orientation = 1
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    width, height = image.size
    if orientation in _SWAPS_SIDES:
        width, height = height, width
    fmt = image.format or "unknown"
    return ImageInfo(
        format=fmt,
        mime_type=Image.MIME.get(fmt),
        width=width,
        height=height,
        mode=image.mode,
        has_alpha=image.has_transparency_data,
        frames=decoded.frames,
        byte_size=len(data),
        orientation=orientation,
    )
