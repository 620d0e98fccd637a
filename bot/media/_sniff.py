"""Read format and size from the first bytes of PNG and JPEG files, without Pillow.

Microseconds of pure Python, so the delivery fast path can hand back a file that already fits
without waiting for a worker thread behind other jobs' encodes.
"""

from __future__ import annotations

import logging
import struct
from typing import NamedTuple

from bot.options import OutputFormat

log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"

# Start-of-frame markers carry the dimensions (not DHT 0xC4, JPG 0xC8 or DAC 0xCC).
_SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
# Markers with no length field.
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})
_SOS = 0xDA


class Sniffed(NamedTuple):
    """What the header says: the format and the pixel size."""

    format: OutputFormat
    width: int
    height: int


def sniff(data: bytes) -> Sniffed | None:
    """Return the format and size of a PNG or JPEG from its header, or None if unsure."""
    if data.startswith(PNG_SIGNATURE):
        return _sniff_png(data)
    if data.startswith(JPEG_SOI):
        return _sniff_jpeg(data)
    return None


def _sniff_png(data: bytes) -> Sniffed | None:
    """The IHDR chunk must come first; it holds width and height."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        return None
    return Sniffed(OutputFormat.PNG, width, height)


def _sniff_jpeg(data: bytes) -> Sniffed | None:
    """Walk the marker segments up to the first start-of-frame."""
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE_MARKERS:
            pos += 2
            continue
        if marker == _SOS:
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            if pos + 9 > end:
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            if width == 0 or height == 0:
                return None
            return Sniffed(OutputFormat.JPEG, width, height)
        if length < 2:
            return None
        pos += 2 + length
    return None


def webp_is_lossless(data: bytes) -> bool:
    """True when a WebP file's (first) image is VP8L, lossless, rather than VP8, lossy."""
    if len(data) < 16 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc == b"VP8L":
            return True
        if fourcc == b"VP8 ":
            return False
        if fourcc == b"ANMF":
            pos += 8 + 16  # step into the first frame: its 16-byte header, then its chunks
            continue
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return False
