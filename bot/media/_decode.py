"""Open untrusted image bytes safely (sync; callers run this in a media thread).

Every refusal is an ``InputError`` that names the file and says what to do instead.
"""

from __future__ import annotations

import io
import logging
import re
import struct
from pathlib import PurePosixPath
from typing import NamedTuple

from PIL import Image

from bot.errors import InputError
from bot.i18n import _
from bot.media._sniff import sniff
from bot.media.limits import (
    INPUT_MAX_BYTES,
    MAX_PIXELS,
    READABLE_FORMATS,
    describe_limit,
    describe_size,
)

log = logging.getLogger(__name__)

# What Pillow raises for damaged or hostile files (its fuzzers treat the same set as expected).
DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "TIFF": "TIFF", "PPM": "PPM"}
_readable: tuple[str, ...] | None = None


def display_name(filename: str) -> str:
    """The file's base name, safe inside a Discord code span."""
    name = PurePosixPath(filename.replace("\\", "/")).name or "image"
    name = name.replace("`", "'")
    return name if len(name) <= 80 else name[:77] + "..."


def format_name(pillow_format: str | None) -> str:
    """Pillow's format id as people write it ("WEBP" -> "WebP", "MPO" -> "JPEG")."""
    if not pillow_format:
        return "image"
    return _FORMAT_NAMES.get(pillow_format, pillow_format)


def readable_formats() -> tuple[str, ...]:
    """The allowed formats this Pillow build can open (AVIF depends on the build)."""
    global _readable
    if _readable is None:
        Image.init()
        _readable = tuple(fmt for fmt in READABLE_FORMATS if fmt in Image.OPEN)
    return _readable


def check_byte_size(data: bytes, filename: str) -> None:
    """Refuse empty files and files over the input cap from their length alone."""
    name = display_name(filename)
    if not data:
        raise InputError(_("`{name}` is empty. Upload a PNG, JPEG, WebP or GIF.", name=name))
    if len(data) > INPUT_MAX_BYTES:
        raise InputError(
            _(
                "`{name}` is {size}; Easel reads images up to {limit}. "
                "Upload a smaller or more compressed version.",
                name=name,
                size=describe_size(len(data)),
                limit=describe_limit(INPUT_MAX_BYTES),
            )
        )


def check_pixels(width: int, height: int, filename: str) -> None:
    """Refuse images whose pixel count would need too much memory to decode."""
    if width * height > MAX_PIXELS:
        raise InputError(
            _(
                "`{name}` is {width}x{height} pixels ({megapixels} megapixels); Easel reads "
                "images up to {max} megapixels. Downscale it and try again.",
                name=display_name(filename),
                width=str(width),
                height=str(height),
                megapixels=round(width * height / 1e6),
                max=round(MAX_PIXELS / 1e6),
            )
        )


class Decoded(NamedTuple):
    """A fully decoded first frame and the number of frames in the file."""

    image: Image.Image
    frames: int


def open_image(data: bytes, filename: str) -> Decoded:
    """Decode the first frame of ``data`` fully, or raise ``InputError`` saying why not.

    The size is checked from the header before any pixel is decoded, and the whole first
    frame is then decoded, so a truncated file is caught here and never sent upstream.
    """
    check_byte_size(data, filename)
    name = display_name(filename)
    try:
        image = Image.open(io.BytesIO(data), formats=readable_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning is only raised when warnings are errors (python -W error).
        sniffed = sniff(data)
        if sniffed is not None:
            check_pixels(sniffed.width, sniffed.height, filename)
        match = _BOMB_PIXELS.search(str(exc))
        limit = round(MAX_PIXELS / 1e6)
        if match:
            raise InputError(
                _(
                    "`{name}` has far too many pixels to read safely ({megapixels} megapixels); "
                    "Easel reads images up to {max} megapixels. Downscale it and try again.",
                    name=name,
                    megapixels=round(int(match.group(1)) / 1e6),
                    max=limit,
                )
            ) from exc
        raise InputError(
            _(
                "`{name}` has far too many pixels to read safely; Easel reads images up to "
                "{max} megapixels. Downscale it and try again.",
                name=name,
                max=limit,
            )
        ) from exc
    except DECODE_ERRORS as exc:
        log.debug("cannot identify %s: %s", name, exc)
        raise InputError(
            _(
                "`{name}` is not an image Easel can read. Upload a PNG, JPEG, WebP or GIF.",
                name=name,
            )
        ) from exc
    check_pixels(image.width, image.height, filename)
    try:
        # Count frames before decoding: counting seeks, and seeking back drops a decoded frame.
        frames = int(getattr(image, "n_frames", 1))
        image.seek(0)
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # A GIF frame can claim more pixels than its canvas.
        raise InputError(
            _(
                "`{name}` has a frame too large to read safely; Easel reads images up to "
                "{max} megapixels.",
                name=name,
                max=round(MAX_PIXELS / 1e6),
            )
        ) from exc
    except DECODE_ERRORS as exc:
        log.debug("cannot decode %s (%s): %s", name, image.format, exc)
        raise InputError(
            _(
                "`{name}` is damaged or cut short, so Easel cannot read it. "
                "Save or export it again and re-upload it.",
                name=name,
            )
        ) from exc
    return Decoded(image, max(1, frames))
