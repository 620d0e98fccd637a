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
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

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

    return _encoded(image, output_format, jpeg_quality)


def _encoded(image: Image.Image, output_format: str, jpeg_quality: int) -> bytes:
    """The placeholder as JPEG (quality kept to 1-95) or as a quickly compressed PNG."""
    out = io.BytesIO()
    if output_format == "jpeg":
        image.save(out, format="JPEG", quality=max(1, min(jpeg_quality, 95)))
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


# ---------------------------------------------------------------------------- edits

_REPAINT_EDGE = (255, 0, 200)  # a magenta seam inside the repainted area, never in kept pixels
_BLEND_OVERLAY = 0.35  # how much of the gradient covers the inputs of an unmasked edit
_DEPTH_GRID = 48  # cells across the coarse map used to find room for a region's label


def _cover(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """``image`` scaled to cover ``size`` at its own aspect, the overflow cropped evenly.

    The real APIs answer a full-frame picture of the size asked, never a letterboxed one, and
    never a stretched one: when the output's shape differs from the input's (a 16:9 photo edited
    at 3:2), the kept pixels are the input's at the same aspect with the long side trimmed.
    The mask gets the same transform, so a region stays over the same input pixels.
    """
    return ImageOps.fit(image, size, method=resample, centering=(0.5, 0.5))


def _open_rgb(data: bytes, size: tuple[int, int]) -> Image.Image:
    """An input image covering exactly ``size`` (cropped, never stretched: see ``_cover``)."""
    with Image.open(io.BytesIO(data)) as image:
        return _cover(image.convert("RGB"), size, Image.Resampling.BILINEAR)


def _repaint_region(mask: bytes, size: tuple[int, int]) -> Image.Image:
    """ "L" image at ``size``: 255 where the mask is transparent (repaint), 0 where kept.

    The mask has the first image's shape, so covering ``size`` crops it exactly as the image.
    """
    with Image.open(io.BytesIO(mask)) as image:
        alpha = image.convert("RGBA").getchannel("A")
    region = alpha.point(lambda value: 255 if value < 128 else 0)
    return _cover(region, size, Image.Resampling.NEAREST)


def _largest_rectangle(cells: list[list[bool]]) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the largest all-True rectangle, in cells (histogram method)."""
    if not cells:
        return None
    columns = len(cells[0])
    heights = [0] * columns
    best: tuple[int, tuple[int, int, int, int]] | None = None
    for row, line in enumerate(cells):
        heights = [h + 1 if filled else 0 for h, filled in zip(heights, line, strict=True)]
        stack: list[int] = []
        for column in range(columns + 1):
            current = heights[column] if column < columns else 0
            while stack and heights[stack[-1]] >= current:
                tall = heights[stack.pop()]
                left = stack[-1] + 1 if stack else 0
                area = tall * (column - left)
                if tall and (best is None or area > best[0]):
                    best = (area, (left, row - tall + 1, column, row + 1))
            stack.append(column)
    return best[1] if best else None


def _label_box(region: Image.Image) -> tuple[int, int, int, int] | None:
    """The largest rectangle inside ``region`` (on a coarse grid), where the label goes.

    A half gives the half; a border ring gives its widest side, never the kept middle.
    """
    width, height = region.size
    scale = max(width, height) / _DEPTH_GRID
    grid = (max(1, round(width / scale)), max(1, round(height / scale)))
    coarse = region.resize(grid, Image.Resampling.BOX)
    values = coarse.tobytes()  # one byte per cell ("L")
    cells = [[v >= 250 for v in values[y * grid[0] : (y + 1) * grid[0]]] for y in range(grid[1])]
    box = _largest_rectangle(cells)
    if box is None:
        return region.getbbox()
    sx, sy = width / grid[0], height / grid[1]
    left, top, right, bottom = box
    return round(left * sx), round(top * sy), round(right * sx), round(bottom * sy)


def _label_layer(
    size: tuple[int, int],
    box: tuple[int, int, int, int],
    lines: list[tuple[str, float]],
) -> Image.Image:
    """Text lines centred in ``box``, each sized as a share of its short side, narrowed to fit."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = box
    box_width, box_height = max(1, right - left), max(1, bottom - top)
    short = min(box_width, box_height)
    fonts = []
    for text, share in lines:
        points = max(9, int(short * share))
        font = _font(points)
        text_width = draw.textlength(text, font=font)
        if text_width > box_width * 0.9:
            font = _font(max(8, int(points * box_width * 0.9 / text_width)))
        fonts.append(font)
    heights = [
        draw.textbbox((0, 0), text, font=font)[3]
        for (text, _), font in zip(lines, fonts, strict=True)
    ]
    gap = short / 40
    y = top + (box_height - (sum(heights) + gap * (len(lines) - 1))) / 2
    for (text, _share), font in zip(lines, fonts, strict=True):
        l_, t_, r_, b_ = draw.textbbox((0, 0), text, font=font)
        x = left + (box_width - (r_ - l_)) / 2 - l_
        offset = max(1, (b_ - t_) // 24)
        draw.text((x + offset, y + offset - t_), text, font=font, fill=(*_SHADOW, 255))
        draw.text((x, y - t_), text, font=font, fill=(*_TEXT, 255))
        y += (b_ - t_) + gap
    return layer


def render_edit_placeholder(
    width: int,
    height: int,
    prompt: str,
    images: Sequence[bytes],
    mask: bytes | None = None,
    *,
    index: int = 1,
    count: int = 1,
    output_format: PlaceholderFormat = "png",
    jpeg_quality: int = 90,
) -> bytes:
    """Encode a labelled sandbox *edit* of exactly ``width`` x ``height`` pixels.

    With a mask: the first image, covering the output size (scaled at its own aspect, the
    overflow cropped evenly from both sides, never stretched), with every pixel the mask marks
    transparent "repainted" (the prompt's gradient, a magenta seam along the inside of its edge,
    and "SANDBOX · REPAINTED" written inside it) and every other pixel left as the input's, so a
    test can tell which region changed. Without a mask: the inputs side by side, each covering
    its strip the same way, under a translucent gradient, labelled "SANDBOX EDIT" or
    "SANDBOX BLEND".
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"placeholder size must be positive, got {width}x{height}")
    if not images:
        raise ValueError("an edit placeholder needs at least one input image")
    size = (width, height)
    short = min(width, height)
    words = _wrap_prompt(prompt, 40)
    if mask is not None:
        picture = _open_rgb(images[0], size)
        region = _repaint_region(mask, size)
        picture.paste(_background(width, height, prompt), mask=region)
        edge = ImageChops.subtract(region, region.filter(ImageFilter.MinFilter(5)))
        picture.paste(_REPAINT_EDGE, mask=edge)
        box = _label_box(region)
        if box is not None:
            lines = [("SANDBOX · REPAINTED", 0.11), *((w, 0.06) for w in words[:2])]
            lines.append((f"image {index}/{count}  ·  {width}x{height}", 0.045))
            label = _label_layer(size, box, lines)
            clipped = ImageChops.multiply(label.getchannel("A"), region)
            picture.paste(label.convert("RGB"), mask=clipped)
    else:
        picture = Image.new("RGB", size)
        shown = images[:16]
        for position, data in enumerate(shown):
            left = width * position // len(shown)
            right = width * (position + 1) // len(shown)
            strip = _open_rgb(data, (max(1, right - left), height))
            picture.paste(strip, (left, 0))
        picture = Image.blend(picture, _background(width, height, prompt), _BLEND_OVERLAY)
        draw = ImageDraw.Draw(picture)
        draw.rectangle((0, 0, width - 1, height - 1), outline=_TEXT, width=max(4, short // 64))
        title = "SANDBOX BLEND" if len(images) > 1 else "SANDBOX EDIT"
        lines = [
            (title, 0.12),
            ("not a real generation", 0.035),
            *((w, 0.045) for w in words),
            (f"{len(images)} input(s)  ·  image {index}/{count}  ·  {width}x{height}", 0.03),
        ]
        label = _label_layer(size, (0, 0, width, height), lines)
        picture.paste(label.convert("RGB"), mask=label.getchannel("A"))
    return _encoded(picture, output_format, jpeg_quality)
