"""Size and pixel limits for image work, in one place so every module agrees."""

from __future__ import annotations

import logging
import os

from bot.i18n import Amount, Text, _, _n

log = logging.getLogger(__name__)

KIB = 1024
MIB = 1024 * 1024
MB = 1000 * 1000

# ToAPIs' upload endpoint says "max 10 MB" without saying which megabyte: the decimal one is the
# stricter reading, so uploads are kept under it.
UPLOAD_MAX_BYTES = 10 * MB

# The largest file Easel reads at all (the edit endpoints' per-reference cap). Bigger files are
# refused from their length alone, before any decoding.
INPUT_MAX_BYTES = 50 * MB

# The most pixels Easel decodes (a 48 MP phone photo fits; 64 MP of RGBA is 256 MB in memory).
# Below Pillow's own 89 MP warning threshold, so Pillow never needs to warn first.
MAX_PIXELS = 64_000_000

# Discord's default per-file attachment limit, for callers that do not know the interaction's.
DISCORD_DEFAULT_ATTACHMENT_BYTES = 10 * MIB

# Formats Easel will try to decode. Deliberately excludes formats that run external programs
# (EPS via Ghostscript) or have no magic number (TGA), so random bytes are never "an image".
READABLE_FORMATS: tuple[str, ...] = (
    "PNG",
    "JPEG",
    "MPO",
    "WEBP",
    "GIF",
    "BMP",
    "TIFF",
    "ICO",
    "PPM",
    "AVIF",
)


def _media_threads() -> int:
    """One worker per CPU (2 to 8): Pillow releases the GIL, and this bounds peak memory."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 2
    return max(2, min(8, cpus))


MEDIA_THREADS = _media_threads()


def describe_limit(limit: int) -> Text:
    """Name a byte limit the way it was probably set: "10 MiB", "10 MB" or "9.5 MB"."""
    if limit >= MIB and limit % MIB == 0:
        return _("{size} MiB", size=limit // MIB)
    if limit >= MB and limit % MB == 0:
        return _("{size} MB", size=limit // MB)
    return describe_size(limit)


def describe_size(size: int) -> Text:
    """A byte count for people: "14.2 MB", "640 KB" or "312 bytes"."""
    if size >= 995_000:  # not "1000 KB"
        return _("{size} MB", size=Amount(value=size / MB, decimals=1))
    if size >= 1000:
        return _("{size} KB", size=round(size / 1000))
    return _n("{count} byte", "{count} bytes", size)
