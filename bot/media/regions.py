"""Region edits without a mask file: named areas of an image, their alpha mask and a preview.

Discord has no way to draw a mask, so a member picks areas from a menu instead: presets (a half,
the centre, the border around the subject) and the cells of a 3x3 grid, numbered 1-9 from the
top left. The union of the picked areas is what gets repainted. ``region_mask`` turns it into the
PNG the APIs want (transparent = repaint, opaque = keep) at the image's exact upright size, and
``region_preview`` draws it over a small copy of the image so the member sees it before spending.
All Pillow work runs in the media threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont, ImageOps

from bot.errors import InputError
from bot.i18n import Items, Text, _
from bot.media._decode import open_image
from bot.media._encode import encode_jpeg, encode_png, for_jpeg
from bot.media._threads import run_sync

Box = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the image

GRID = 3
PREVIEW_SIDE = 512  # long side of the preview, in pixels
_TINT = (255, 0, 200)  # the region, tinted on the preview
_TINT_ALPHA = 110  # of 255
_DIM_ALPHA = 90  # black over the kept part of the preview
_BORDER = 0.2  # the "border" preset: this fraction of each side around a kept middle
_CELL_NAMES = (
    _("top left"),
    _("top"),
    _("top right"),
    _("left"),
    _("centre"),
    _("right"),
    _("bottom left"),
    _("bottom"),
    _("bottom right"),
)


class Region(NamedTuple):
    """One pickable area: a select option's label and description, and the boxes it covers."""

    label: Text
    description: Text
    boxes: tuple[Box, ...]


def _cell(index: int) -> Box:
    column, row = index % GRID, index // GRID
    return (column / GRID, row / GRID, (column + 1) / GRID, (row + 1) / GRID)


PRESETS: Mapping[str, Region] = {
    "left": Region(_("Left half"), _("Repaint the left half"), ((0.0, 0.0, 0.5, 1.0),)),
    "right": Region(_("Right half"), _("Repaint the right half"), ((0.5, 0.0, 1.0, 1.0),)),
    "top": Region(_("Top half"), _("Repaint the top half (the sky, say)"), ((0.0, 0.0, 1.0, 0.5),)),
    "bottom": Region(_("Bottom half"), _("Repaint the bottom half"), ((0.0, 0.5, 1.0, 1.0),)),
    "centre": Region(
        _("Centre"), _("Repaint the middle, keep the surroundings"), ((0.25, 0.25, 0.75, 0.75),)
    ),
    "border": Region(
        _("Background border"),
        _("Repaint the edges around the subject, keep the middle"),
        (
            (0.0, 0.0, 1.0, _BORDER),
            (0.0, 1.0 - _BORDER, 1.0, 1.0),
            (0.0, 0.0, _BORDER, 1.0),
            (1.0 - _BORDER, 0.0, 1.0, 1.0),
        ),
    ),
}
CELLS: Mapping[str, Region] = {
    f"cell{i + 1}": Region(
        _("Cell {number} · {name}", number=i + 1, name=_CELL_NAMES[i]),
        _("Grid cell {number} of 9", number=i + 1),
        (_cell(i),),
    )
    for i in range(GRID * GRID)
}
REGIONS: Mapping[str, Region] = {**PRESETS, **CELLS}


def parse_regions(keys: Iterable[str]) -> tuple[str, ...]:
    """The picked region keys, deduplicated in catalogue order; unknown keys are refused."""
    wanted = set(keys)
    unknown = sorted(wanted - set(REGIONS))
    if unknown:
        raise InputError(
            _("Unknown area {areas}; pick from the list.", areas=", ".join(unknown)),
            field="region",
        )
    if not wanted:
        raise InputError(_("Pick at least one area to repaint."), field="region")
    return tuple(key for key in REGIONS if key in wanted)


def describe_regions(keys: Sequence[str]) -> Items:
    """The picked areas in words, e.g. "Left half + Cell 5 · centre" (a value for a sentence)."""
    return Items(items=tuple(REGIONS[key].label for key in keys), style="plus")


def pixel_boxes(keys: Sequence[str], size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """The areas as pixel boxes at ``size``; neighbouring cells share their edge exactly."""
    width, height = size
    boxes = []
    for key in keys:
        for left, top, right, bottom in REGIONS[key].boxes:
            box = (left * width, top * height, right * width, bottom * height)
            boxes.append((round(box[0]), round(box[1]), round(box[2]), round(box[3])))
    return boxes


class RegionPreview(NamedTuple):
    """A small JPEG of the image with the area tinted, and the image's full upright size."""

    data: bytes
    width: int
    height: int
    source_size: tuple[int, int]


async def region_mask(size: tuple[int, int], keys: Sequence[str]) -> bytes:
    """A PNG mask at exactly ``size``: transparent (repaint) in the areas, opaque elsewhere.

    ``size`` is the image's upright size (after EXIF rotation), as ``probe`` reports it.
    """
    return await run_sync(_region_mask, size, tuple(keys))


async def region_preview(
    data: bytes, filename: str, keys: Sequence[str] = (), *, max_side: int = PREVIEW_SIDE
) -> RegionPreview:
    """The image (upright, at most ``max_side`` px) with the 3x3 grid numbered and ``keys`` tinted.

    With no keys it shows just the numbered grid, for choosing. Raises ``InputError`` for files
    that are not readable images.
    """
    return await run_sync(_region_preview, data, filename, tuple(keys), max_side)


def _region_mask(size: tuple[int, int], keys: tuple[str, ...]) -> bytes:
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"mask size must be positive, not {size}")
    alpha = Image.new("L", size, 255)
    draw = ImageDraw.Draw(alpha)
    for left, top, right, bottom in pixel_boxes(keys, size):
        if right > left and bottom > top:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=0)
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.putalpha(alpha)
    return encode_png(mask, optimize=True)


def _region_preview(
    data: bytes, filename: str, keys: tuple[str, ...], max_side: int
) -> RegionPreview:
    image = ImageOps.exif_transpose(open_image(data, filename).image)
    source_size = image.size
    small = for_jpeg(image).convert("RGB")
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    width, height = small.size

    # Kept pixels are dimmed and the area to repaint tinted, so the choice reads at a glance.
    overlay = Image.new("RGBA", small.size, (0, 0, 0, _DIM_ALPHA if keys else 0))
    draw = ImageDraw.Draw(overlay)
    boxes = pixel_boxes(keys, small.size)
    for left, top, right, bottom in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), fill=(*_TINT, _TINT_ALPHA))
    line = max(1, min(width, height) // 256)
    for step in range(1, GRID):
        x, y = round(width * step / GRID), round(height * step / GRID)
        draw.line((x, 0, x, height), fill=(255, 255, 255, 150), width=line)
        draw.line((0, y, width, y), fill=(255, 255, 255, 150), width=line)
    for left, top, right, bottom in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), outline=(*_TINT, 255), width=line * 2)
    font = ImageFont.load_default(size=max(10, min(width, height) // 14))
    for index in range(GRID * GRID):
        left, top, _right, _bottom = pixel_boxes((f"cell{index + 1}",), small.size)[0]
        spot = (left + 4 * line, top + 2 * line)
        draw.text(spot, str(index + 1), font=font, fill=(255, 255, 255, 235),
                  stroke_width=max(1, line), stroke_fill=(0, 0, 0, 200))  # fmt: skip
    small = Image.alpha_composite(small.convert("RGBA"), overlay).convert("RGB")
    return RegionPreview(encode_jpeg(small, quality=88), width, height, source_size)


def preview_filename(keys: Sequence[str]) -> str:
    """A file name for the preview attachment."""
    return "region_" + ("_".join(keys) if keys else "grid") + ".jpg"
