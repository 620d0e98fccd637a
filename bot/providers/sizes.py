"""Sizes a model takes, as data: free ``WxH`` within rules, or a list of exact sizes.

gpt-image-2 on InfinityBlue, Starrise/Anyfast and OpenAI accepts any ``{width}x{height}`` whose
sides are multiples of 16, whose aspect is at most 3:1, whose area is 655,360–8,294,400 pixels and
whose long side is at most 3,840 (upstream-apis.md §2–§4): ``FreeSizeRules``. OpenAI's older
gpt-image-1 and gpt-image-1.5 take only the sizes their docs list (§4.1): ``ListedSizes``. Easel's
options stay ratio + tier; these helpers map them (and an input image's shape, for ``auto``) onto
the nearest size the model allows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Annotated, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.options import Ratio, Resolution

Size: TypeAlias = tuple[int, int]
SizeTable: TypeAlias = Mapping[Resolution, Mapping[Ratio, Size]]

# The area each tier aims for: 1024², 2048², and the largest area the rules allow (3840×2160).
TIER_PIXELS: dict[Resolution, int] = {
    Resolution.R1K: 1024 * 1024,
    Resolution.R2K: 2048 * 2048,
    Resolution.R4K: 3840 * 2160,
}


class FreeSizeRules(BaseModel):
    """What makes a ``WxH`` acceptable to a free-size API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    multiple: int = Field(default=16, ge=1)
    max_aspect: float = Field(default=3.0, ge=1.0)
    min_pixels: int = Field(default=655_360, ge=1)
    max_pixels: int = Field(default=8_294_400, ge=1)
    max_side: int = Field(default=3_840, ge=16)

    @model_validator(mode="after")
    def _consistent(self) -> FreeSizeRules:
        if self.min_pixels > self.max_pixels:
            raise ValueError("min_pixels is larger than max_pixels")
        if self.max_side**2 < self.min_pixels:
            raise ValueError("no size fits: max_side squared is below min_pixels")
        return self

    def problem(self, width: int, height: int) -> str | None:
        """Why ``width``x``height`` breaks the rules, in one phrase, or None when it fits."""
        if width <= 0 or height <= 0:
            return "both sides must be positive"
        if width % self.multiple or height % self.multiple:
            return f"both sides must be multiples of {self.multiple}"
        if max(width, height) > self.max_side:
            return f"the long side must be at most {self.max_side:,} pixels"
        if max(width, height) / min(width, height) > self.max_aspect + 1e-9:
            return f"the aspect ratio must be at most {self.max_aspect:g}:1"
        pixels = width * height
        if not self.min_pixels <= pixels <= self.max_pixels:
            return f"the area must be {self.min_pixels:,}–{self.max_pixels:,} pixels"
        return None

    def allows(self, width: int, height: int) -> bool:
        """True when the size fits every rule."""
        return self.problem(width, height) is None

    def snap(self, width: float, height: float) -> Size:
        """The valid size nearest ``width``x``height``: same shape first, then same area.

        The shape is clamped to the aspect limit and the area to the pixel range, then each side
        is rounded to the multiple; the neighbouring multiples are searched so rounding never
        lands outside the rules.
        """
        if width <= 0 or height <= 0:
            raise ValueError("width and height must be positive")
        aspect = min(max(width / height, 1 / self.max_aspect), self.max_aspect)
        pixels = min(max(width * height, self.min_pixels), self.max_pixels)
        ideal_w, ideal_h = math.sqrt(pixels * aspect), math.sqrt(pixels / aspect)
        if max(ideal_w, ideal_h) > self.max_side:
            shrink = self.max_side / max(ideal_w, ideal_h)
            ideal_w, ideal_h = ideal_w * shrink, ideal_h * shrink
        target_aspect, target_pixels = math.log(aspect), math.log(ideal_w * ideal_h)

        def distance(size: Size) -> tuple[float, float]:
            w, h = size
            return (
                abs(math.log(w / h) - target_aspect) + abs(math.log(w * h) - target_pixels) / 4,
                abs(math.log(w * h) - target_pixels),
            )

        for reach in (1, 3, 8, 32):
            found = [size for size in self._around(ideal_w, ideal_h, reach) if self.allows(*size)]
            if found:
                return min(found, key=distance)
        raise ValueError(f"no size near {width:g}x{height:g} fits these rules")  # pragma: no cover

    def _around(self, width: float, height: float, reach: int) -> Iterator[Size]:
        step = self.multiple
        base_w, base_h = int(width // step), int(height // step)
        for dw in range(-reach + 1, reach + 1):
            for dh in range(-reach + 1, reach + 1):
                w, h = (base_w + dw) * step, (base_h + dh) * step
                if w > 0 and h > 0:
                    yield w, h

    def for_shape(self, source: Size | None, resolution: Resolution) -> Size:
        """The size a tier gives an image of ``source``'s shape (square without a source)."""
        width, height = source if source and min(source) > 0 else (1, 1)
        pixels = TIER_PIXELS[resolution]
        aspect = width / height
        return self.snap(math.sqrt(pixels * aspect), math.sqrt(pixels / aspect))


def parse_size(text: str) -> Size | None:
    """``"1536x1024"`` as (1536, 1024); None for ``auto`` or anything else."""
    across, sep, down = text.lower().partition("x")
    if not sep or not across.isdigit() or not down.isdigit():
        return None
    return int(across), int(down)


def format_size(size: Size) -> str:
    """(1536, 1024) as ``"1536x1024"``, the form the APIs take."""
    return f"{size[0]}x{size[1]}"


# How far a listed size's shape may be from its ratio: ToAPIs' 2048x1360 is "3:2" (0.4 % off).
_RATIO_TOLERANCE = 0.01


def ratio_of(size: Size) -> Ratio | None:
    """The ratio ``size`` has (within 1 %), or None when it is none of the 13."""
    width, height = size
    shape = math.log(width / height)
    for ratio in Ratio:
        if ratio is Ratio.AUTO:
            continue
        across, down = ratio.value.split(":")
        if abs(math.log(int(across) / int(down)) - shape) <= _RATIO_TOLERANCE:
            return ratio
    return None


def tier_of(size: Size) -> Resolution:
    """The tier whose area ``size`` is nearest (1024x1536 is 1K, 2048x1152 is 2K)."""
    area = math.log(size[0] * size[1])
    return min(Resolution, key=lambda tier: abs(math.log(TIER_PIXELS[tier]) - area))


def _check_listed(sizes: tuple[str, ...]) -> tuple[str, ...]:
    """Every entry is ``WxH`` of one of the 13 ratios, and no two share a ratio and tier."""
    if not sizes:
        raise ValueError("list at least one size")
    seen: dict[tuple[Resolution, Ratio], str] = {}
    for text in sizes:
        size = parse_size(text)
        if size is None or min(size) <= 0:
            raise ValueError(f"{text!r} is not WxH")
        ratio = ratio_of(size)
        if ratio is None:
            raise ValueError(f"{text} is none of the ratios Easel offers")
        key = (tier_of(size), ratio)
        if key in seen:
            raise ValueError(f"{text} and {seen[key]} are both {ratio} at {key[0]}")
        seen[key] = text
    return sizes


# Exactly the sizes a model's docs list, e.g. ["1024x1024", "1536x1024", "1024x1536"] (§4.1).
ListedSizes: TypeAlias = Annotated[tuple[str, ...], AfterValidator(_check_listed)]


def listed_size_table(sizes: ListedSizes) -> SizeTable:
    """The listed sizes as ratio → size per tier (each size sits at the tier nearest its area)."""
    table: dict[Resolution, dict[Ratio, Size]] = {}
    for text in sizes:
        size = parse_size(text)
        assert size is not None  # checked when the profile was loaded
        ratio = ratio_of(size)
        assert ratio is not None
        table.setdefault(tier_of(size), {})[ratio] = size
    return {tier: table[tier] for tier in Resolution if tier in table}
