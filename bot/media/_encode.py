"""Encode decoded images as PNG or JPEG and fit them under a byte limit with the least loss.

Sync helpers for the media threads. The fitting ladder, from least to most loss:

1. PNG at the normal effort, when PNG is wanted and it fits;
2. the same pixels recompressed at maximum effort (lossless);
3. JPEG at quality 95, then 90, then 85 (skipped for images with real transparency);
4. downscaling, keeping the aspect ratio, until the file fits.

Each step's size is first *estimated* by encoding a few evenly spaced strips of the image (about
an eighth of its rows) and scaling up, so a step that cannot fit costs a fraction of a full encode
and the ladder jumps straight to the first step likely to fit. Every result is measured, never
trusted to the estimate.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from PIL import Image

from bot.errors import InternalError
from bot.i18n import _
from bot.media.limits import describe_limit
from bot.options import OutputFormat

log = logging.getLogger(__name__)

DEFAULT_JPEG_QUALITY = 95
FALLBACK_JPEG_QUALITIES = (95, 90, 85)
PNG_COMPRESS_LEVEL = 6  # zlib's default: the usual size/speed balance
MIN_LONG_SIDE = 64  # smaller than this is no longer a useful picture

# Below this many pixels a full encode is cheap enough to be its own estimate.
_EXACT_BELOW_PIXELS = 1_000_000
_SAMPLE_STRIPS = 8
# Margins: how far under the limit an estimate must be before a full encode is tried.
_TRY_MARGIN = 0.95
_DOWNSCALE_TARGET = 0.9

_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "P", "RGB", "RGBA"})
_RGB_FAMILY = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA"})
_GRAY_FAMILY = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

Encoder = Callable[[Image.Image], bytes]


@dataclass(frozen=True, slots=True)
class Encoded:
    """An encoded image and what was given up to produce it."""

    data: bytes
    format: OutputFormat
    width: int
    height: int
    quality: int | None = None  # the JPEG quality used
    recompressed: bool = False  # PNG recompressed at maximum effort to fit (still lossless)
    downscaled: bool = False


class ColourProfile(NamedTuple):
    """The source's ICC profile and the colour family it describes."""

    family: str
    icc: bytes | None


def colour_family(mode: str) -> str:
    """Group modes whose pixels one ICC profile can describe."""
    if mode in _RGB_FAMILY:
        return "RGB"
    if mode in _GRAY_FAMILY:
        return "L"
    return mode


def profile_of(image: Image.Image) -> ColourProfile:
    """Remember the source's ICC profile, so re-encoding keeps its colours."""
    icc = image.info.get("icc_profile")
    return ColourProfile(colour_family(image.mode), icc if isinstance(icc, bytes) and icc else None)


def icc_for(profile: ColourProfile | None, image: Image.Image) -> bytes | None:
    """The profile, if it still describes ``image`` (not after CMYK became RGB, say)."""
    if profile is None or profile.icc is None:
        return None
    return profile.icc if colour_family(image.mode) == profile.family else None


def has_transparency(image: Image.Image) -> bool:
    """True when at least one pixel is not fully opaque (not merely an alpha channel)."""
    if not image.has_transparency_data:
        return False
    source = image if image.mode in ("RGBA", "LA", "PA") else image.convert("RGBA")
    low, _high = source.getchannel("A").getextrema()
    return bool(low < 255)  # type: ignore[operator]


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    """16- and 32-bit greyscale to 8-bit by scaling; Pillow's own conversion clips instead."""
    if image.mode == "F":
        return image.convert("L")
    return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")


def for_png(image: Image.Image) -> Image.Image:
    """A mode PNG can store; an alpha channel that is fully opaque is dropped (lossless)."""
    mode = image.mode
    if mode in _ALPHA_MODES and not has_transparency(image):
        return image.convert("L" if mode in ("LA", "La") else "RGB")
    if mode in _PNG_MODES:
        return image
    if mode in ("RGBa", "PA"):
        return image.convert("RGBA")
    if mode == "La":
        return image.convert("LA")
    if mode.startswith("I;16"):
        return image.convert("I;16")
    if mode == "F":
        return image.convert("L")
    return image.convert("RGB")


def for_jpeg(image: Image.Image) -> Image.Image:
    """An 8-bit RGB or L image, with any transparency flattened onto white."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode.startswith("I") or mode == "F":
        return _to_8bit_gray(image)
    if has_transparency(image):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat.convert("L") if colour_family(mode) == "L" else flat
    if mode in ("1", "LA", "La"):
        return image.convert("L")
    return image.convert("RGB")


def encode_png(
    image: Image.Image, *, profile: ColourProfile | None = None, optimize: bool = False
) -> bytes:
    """PNG bytes; ``optimize`` spends zlib's maximum effort for a smaller, identical image."""
    params: dict[str, object] = {"compress_level": 9 if optimize else PNG_COMPRESS_LEVEL}
    if optimize:
        params["optimize"] = True
    return _saved(image, "PNG", params, profile)


def encode_jpeg(image: Image.Image, *, quality: int, profile: ColourProfile | None = None) -> bytes:
    """JPEG bytes; full-resolution colour (4:4:4) from quality 90 up, 4:2:0 below.

    No ``optimize``: Pillow then sizes its output buffer at 1-2 bytes a pixel, which detailed
    images exceed ("Suspension not allowed here"), for a gain of only a few percent.
    """
    params: dict[str, object] = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    return _saved(image, "JPEG", params, profile)


def _saved(
    image: Image.Image, fmt: str, params: dict[str, object], profile: ColourProfile | None
) -> bytes:
    """``image`` saved as ``fmt`` with ``params``, carrying ``profile``'s ICC where it has one."""
    icc = icc_for(profile, image)
    if icc:
        params = {**params, "icc_profile": icc}
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def encode_as(
    image: Image.Image, fmt: OutputFormat, *, quality: int, profile: ColourProfile | None
) -> bytes:
    """Encode in ``fmt``, converting the mode first (JPEG flattens transparency onto white)."""
    if fmt is OutputFormat.JPEG:
        return encode_jpeg(for_jpeg(image), quality=quality, profile=profile)
    return encode_png(for_png(image), profile=profile)


class Estimate(NamedTuple):
    """A predicted encoded size; ``data`` is set when the image was small enough to encode."""

    size: int
    data: bytes | None


def estimate(image: Image.Image, encode: Encoder, *, overhead: int = 700) -> Estimate:
    """Predict the encoded size from evenly spaced strips holding about 1/8 of the rows.

    Strips are 16-row aligned so JPEG blocks do not straddle a seam. ``overhead`` (headers,
    tables, ICC profile) is counted once rather than scaled with the rows.
    """
    width, height = image.size
    strip = max(16, round(height / 64 / 16) * 16)
    sample_height = strip * _SAMPLE_STRIPS
    if width * height <= _EXACT_BELOW_PIXELS or sample_height * 2 > height:
        data = encode(image)
        return Estimate(len(data), data)
    sample = image.crop((0, 0, width, sample_height))
    step = (height - strip) / (_SAMPLE_STRIPS - 1)
    for index in range(1, _SAMPLE_STRIPS):
        top = min(height - strip, int(index * step) // 16 * 16)
        sample.paste(image.crop((0, top, width, top + strip)), (0, index * strip))
    sampled = len(encode(sample))
    fixed = min(overhead, sampled // 2)
    return Estimate(fixed + round((sampled - fixed) * height / sample_height), None)


def png_lossless(
    png: Image.Image,
    *,
    limit: int | None,
    profile: ColourProfile | None,
    existing: bytes | None = None,
) -> tuple[Encoded | None, int]:
    """A PNG within ``limit`` (normal effort, then maximum effort), or None and the best size.

    ``png`` comes from ``for_png``. ``existing`` is PNG bytes of these very pixels (the source
    file): returned as is when it fits; when it does not, a re-encode is still estimated, since
    the source may have been compressed poorly, and one that fits is marked ``recompressed``.
    """
    width, height = png.size
    if existing is not None and (limit is None or len(existing) <= limit):
        return Encoded(existing, OutputFormat.PNG, width, height), len(existing)
    if limit is None:
        plain = encode_png(png, profile=profile)
        return Encoded(plain, OutputFormat.PNG, width, height), len(plain)

    overhead = 100 + len(icc_for(profile, png) or b"")
    first = estimate(png, lambda im: encode_png(im, profile=profile), overhead=overhead)
    data: bytes | None = first.data
    if data is None and first.size <= limit * 1.1:
        data = encode_png(png, profile=profile)
    if data is not None and len(data) <= limit:
        encoded = Encoded(data, OutputFormat.PNG, width, height, recompressed=existing is not None)
        return encoded, len(data)
    size = len(data) if data is not None else first.size

    if size <= limit * 1.3:  # maximum effort rarely saves more than a few percent more
        best = estimate(
            png, lambda im: encode_png(im, profile=profile, optimize=True), overhead=overhead
        )
        data = best.data
        if data is None and best.size <= limit * 0.98:
            data = encode_png(png, profile=profile, optimize=True)
        if data is not None and len(data) <= limit:
            return Encoded(data, OutputFormat.PNG, width, height, recompressed=True), len(data)
        size = min(size, len(data) if data is not None else best.size)
    return None, size


def fit_png(
    image: Image.Image,
    *,
    limit: int | None,
    profile: ColourProfile | None,
    existing: bytes | None = None,
) -> Encoded:
    """PNG if any PNG fits, else JPEG (unless the image has real transparency), else smaller."""
    png = for_png(image)
    encoded, size = png_lossless(png, limit=limit, profile=profile, existing=existing)
    if encoded is not None:
        return encoded
    if limit is None:  # pragma: no cover - without a limit png_lossless always encodes
        raise InternalError(_("PNG encoding produced nothing."))
    if has_transparency(png):
        return _downscale(png, OutputFormat.PNG, None, profile, limit, size)
    return fit_jpeg(png, qualities=FALLBACK_JPEG_QUALITIES, limit=limit, profile=profile)


def fit_jpeg(
    image: Image.Image,
    *,
    qualities: Sequence[int],
    limit: int | None,
    profile: ColourProfile | None,
) -> Encoded:
    """JPEG at the first quality in ``qualities`` that fits, else downscaled at the last one."""
    jpeg = for_jpeg(image)
    width, height = jpeg.size
    if limit is None:
        plain = encode_jpeg(jpeg, quality=qualities[0], profile=profile)
        return Encoded(plain, OutputFormat.JPEG, width, height, quality=qualities[0])

    overhead = 700 + len(icc_for(profile, jpeg) or b"")
    correction = 1.0  # actual / estimated, learned from the first full encode
    size = 0
    for quality in qualities:
        guess = estimate(
            jpeg, partial(encode_jpeg, quality=quality, profile=profile), overhead=overhead
        )
        data: bytes | None = guess.data
        if data is None:
            if guess.size * correction > limit * _TRY_MARGIN:
                size = round(guess.size * correction)
                continue
            data = encode_jpeg(jpeg, quality=quality, profile=profile)
            correction = len(data) / guess.size
        if len(data) <= limit:
            return Encoded(data, OutputFormat.JPEG, width, height, quality=quality)
        size = len(data)
    return _downscale(jpeg, OutputFormat.JPEG, qualities[-1], profile, limit, size)


def _downscale(
    image: Image.Image,
    fmt: OutputFormat,
    quality: int | None,
    profile: ColourProfile | None,
    limit: int,
    full_size: int,
) -> Encoded:
    """Shrink (aspect kept) by the square root of the size ratio, then tighten until it fits."""
    if image.mode in ("1", "P", "PA"):  # Pillow resizes these with nearest-neighbour only
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    width, height = image.size
    factor = min(0.95, math.sqrt(_DOWNSCALE_TARGET * limit / max(full_size, 1)))
    for _attempt in range(12):
        new_width = max(1, round(width * factor))
        new_height = max(1, round(height * factor))
        if max(new_width, new_height) < MIN_LONG_SIDE:
            break
        small = image.resize((new_width, new_height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        if fmt is OutputFormat.JPEG:
            data = encode_jpeg(small, quality=quality or DEFAULT_JPEG_QUALITY, profile=profile)
        else:
            data = encode_png(small, profile=profile)
        if len(data) <= limit:
            log.debug("downscaled %dx%d to %dx%d for %d bytes", width, height, *small.size, limit)
            return Encoded(data, fmt, new_width, new_height, quality=quality, downscaled=True)
        factor *= min(0.95, math.sqrt(_DOWNSCALE_TARGET * limit / len(data)))
    size = f"{width}x{height}"
    raise InternalError(
        _(
            "Could not fit a {size} image under the {limit} limit.",
            size=size,
            limit=describe_limit(limit),
        )
    )
