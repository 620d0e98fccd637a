"""What both emulators check in an input image: its format, its size, and a mask's rules.

The rules are the same upstream (an alpha PNG the size of the first image); only the wording of
each API's error differs, so each emulator passes its own ``MaskWords``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def sniff(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif`` or ``webp`` from an image's magic bytes; None for others."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from an image's header (sync; run in a thread)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size


@dataclass(frozen=True)
class MaskWords:
    """How one API words each broken mask rule (``{error}``, ``{expected}``, ``{got}`` filled)."""

    not_png: str
    unreadable: str
    no_alpha: str
    wrong_size: str


def mask_problem(mask: bytes, first_image: bytes, words: MaskWords) -> str | None:
    """Why a mask breaks the documented rules, in the API's words, or None (sync; thread)."""
    if sniff(mask) != "png":
        return words.not_png
    try:
        with Image.open(io.BytesIO(mask)) as image:
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            size = image.size
        expected = image_size(first_image)
    except (OSError, ValueError, SyntaxError) as exc:
        return words.unreadable.format(error=exc)
    if not has_alpha:
        return words.no_alpha
    if size != expected:
        return words.wrong_size.format(
            expected=f"{expected[0]}x{expected[1]}", got=f"{size[0]}x{size[1]}"
        )
    return None
