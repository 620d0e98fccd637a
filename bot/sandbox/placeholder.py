"""Placeholder images for the sandbox: exact-size, obviously fake, and cheap to draw.

The sandbox stands in for the real image service, so its pictures must have the exact pixel size
the real API would return (the delivery code fits files to Discord's limits by size) while being
impossible to mistake for a real generation. Everything here is synchronous Pillow work: callers
run it with ``asyncio.to_thread`` so the event loop never blocks.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

PlaceholderFormat = Literal["png", "jpeg"]

_MAX_PROMPT_LINES = 4
_TEXT = (250, 250, 252)
_SHADOW = (16, 16, 24)


@lru_cache(maxsize=64)
def _ramp(height: int) -> Image.Image:
    """A one-pixel-wide 0..255 top-to-bottom ramp (cached: sizes repeat all the time)."""
    return Image.linear_gradient("L").resize((1, height), Image.Resampling.BILINEAR)


def _background(width: int, height: int, prompt: str) -> Image.Image:
    """A vertical two-colour gradient: built as one column and stretched, so it costs ~1 ms.

    Rows of one colour also make the PNG encoder several times faster than a diagonal blend.
    """
    top, bottom = _palette(prompt)
    column = Image.composite(
        Image.new("RGB", (1, height), bottom), Image.new("RGB", (1, height), top), _ramp(height)
    )
    return column.resize((width, height), Image.Resampling.NEAREST)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font: no system fonts needed, so it works in slim containers."""
    return ImageFont.load_default(size=size)


def _palette(prompt: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Two pleasant, prompt-dependent colours: the same prompt always gives the same picture."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    hue = digest[0] / 255.0
    return _hsv(hue, 0.55, 0.78), _hsv((hue + 0.18 + digest[1] / 1024) % 1.0, 0.65, 0.42)


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    """HSV to 8-bit RGB (colorsys returns floats and is no shorter)."""
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return round(r * 255), round(g * 255), round(b * 255)


def _wrap_prompt(prompt: str, chars_per_line: int) -> list[str]:
    """The prompt on at most a few lines, cut with an ellipsis when longer."""
    flat = " ".join(prompt.split()) or "(empty prompt)"
    lines = textwrap.wrap(flat, width=max(chars_per_line, 8))
    if len(lines) > _MAX_PROMPT_LINES:
        lines = lines[:_MAX_PROMPT_LINES]
        lines[-1] = lines[-1][: max(chars_per_line - 1, 1)].rstrip() + "…"
    return lines


def _centered(
    draw: ImageDraw.ImageDraw,
    y: float,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> float:
    """Draw one shadowed line centred horizontally; return the y below it."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (width - (right - left)) / 2 - left
    offset = max(1, (bottom - top) // 24)
    draw.text((x + offset, y + offset - top), text, font=font, fill=_SHADOW)
    draw.text((x, y - top), text, font=font, fill=_TEXT)
    return y + (bottom - top)


def render_placeholder(
    width: int,
    height: int,
    prompt: str,
    *,
    index: int = 1,
    count: int = 1,
    output_format: PlaceholderFormat = "png",
    jpeg_quality: int = 90,
) -> bytes:
    """Encode a labelled sandbox image of exactly ``width`` x ``height`` pixels.

    The picture is a gradient seeded from the prompt with "SANDBOX", the prompt, "image i/n" and
    the size written on it, so a test (or a member of a dev server) can tell which request made it.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"placeholder size must be positive, got {width}x{height}")
    image = _background(width, height, prompt)
    draw = ImageDraw.Draw(image)

    short = min(width, height)
    border = max(4, short // 64)
    draw.rectangle((0, 0, width - 1, height - 1), outline=_TEXT, width=border)

    title = _font(max(12, short // 6))
    body = _font(max(10, short // 28))
    small = _font(max(9, short // 36))
    # Roughly how many characters of the body font fit across 80 % of the width.
    chars = int(width * 0.8 / max(body.getlength("n"), 1))

    lines = _wrap_prompt(prompt, chars)
    gap = short / 40
    block = [
        ("SANDBOX", title),
        ("not a real generation", small),
        *((line, body) for line in lines),
        (f"image {index}/{count}  ·  {width}x{height}", small),
    ]
    heights = [draw.textbbox((0, 0), text, font=font)[3] for text, font in block]
    y = (height - (sum(heights) + gap * (len(block) - 1))) / 2
    for text, font in block:
        y = _centered(draw, y, text, font, width) + gap

    out = io.BytesIO()
    if output_format == "jpeg":
        image.save(out, format="JPEG", quality=max(1, min(jpeg_quality, 95)))
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()
