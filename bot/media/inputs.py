"""Prepare a member's images for an image API: references as PNG or JPEG, masks as alpha PNGs.

Image APIs take PNG and JPEG references (ToAPIs edits: PNG/JPG; its upload endpoint: 10 MB) and
a mask that is a PNG whose transparent pixels mark what to repaint, the same size as the first
reference. Members upload WebP, GIF, phone photos with EXIF rotation, and black-and-white masks,
so everything is checked and converted here, before anything is uploaded or spent.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from bot.errors import InputError
from bot.i18n import _
from bot.media._decode import DECODE_ERRORS, display_name, format_name, open_image
from bot.media._encode import (
    FALLBACK_JPEG_QUALITIES,
    Encoded,
    encode_png,
    fit_jpeg,
    fit_png,
    for_jpeg,
    has_transparency,
    profile_of,
)
from bot.media._sniff import webp_is_lossless
from bot.media._threads import run_sync
from bot.media.limits import UPLOAD_MAX_BYTES, describe_limit
from bot.options import OutputFormat

log = logging.getLogger(__name__)

_EXIF_ORIENTATION = 0x0112
_LOSSY_FORMATS = frozenset({"JPEG", "MPO", "AVIF"})
# Masks whose aspect ratio is within this fraction of the target's are resized, not refused.
_ASPECT_TOLERANCE = 0.01


class PreparedImage(BaseModel):
    """An image ready to upload: always PNG or JPEG, ``filename``'s extension matching."""

    model_config = ConfigDict(frozen=True)

    filename: str
    data: bytes = Field(repr=False)
    content_type: str  # "image/png" or "image/jpeg"
    width: int  # as stored in ``data`` (after EXIF rotation and any downscale)
    height: int
    note: str | None = None  # what was done, in one phrase; None when passed through untouched


async def prepare_reference(
    data: bytes, filename: str, *, max_bytes: int = UPLOAD_MAX_BYTES
) -> PreparedImage:
    """Return a PNG or JPEG of the image, upright and at most ``max_bytes`` long.

    PNG and JPEG files that are upright and small enough pass through as the same bytes.
    Otherwise: the first frame of an animation is used; EXIF rotation is applied; lossless
    sources (PNG, GIF, BMP, TIFF, lossless WebP) and anything with transparency become PNG,
    lossy ones (JPEG, lossy WebP, AVIF) become JPEG at quality 95; and a file over
    ``max_bytes`` is fitted with the least loss (optimized PNG, JPEG 95 to 85 unless it has
    transparency, then downscaling). Width and height describe the prepared image: a mask for
    it must match them.

    Raises ``InputError`` (naming the file) for non-images, damaged files, files over 50 MB and
    images over 64 megapixels.
    """
    return await run_sync(_prepare_reference, data, filename, max_bytes)


async def prepare_mask(
    mask_data: bytes, *, target_size: tuple[int, int], filename: str = "mask.png"
) -> PreparedImage:
    """Return the mask as a PNG whose transparent pixels mark what to repaint, at ``target_size``.

    ``target_size`` is the prepared first reference's (width, height). A mask with real
    transparency keeps its alpha: transparent = repaint, opaque = keep. A mask without
    transparency is read as black and white: **white = repaint** (becomes transparent),
    **black = keep** (becomes opaque); greys split at 50 %. A mask of the same shape at another
    size is resized; any other size, or a mask that marks nothing to repaint, is refused with an
    ``InputError`` that states what is expected.
    """
    return await run_sync(_prepare_mask, mask_data, target_size, filename)


def _prepare_reference(data: bytes, filename: str, max_bytes: int) -> PreparedImage:
    """Sync body of ``prepare_reference`` (runs in a media thread)."""
    decoded = open_image(data, filename)
    image = decoded.image
    fmt = image.format or ""
    orientation = _orientation(image)
    source = (
        OutputFormat.PNG if fmt == "PNG" else OutputFormat.JPEG if fmt in ("JPEG", "MPO") else None
    )
    plain_jpeg = source is OutputFormat.JPEG and image.mode in ("RGB", "L")
    if (
        source is not None
        and (source is OutputFormat.PNG or plain_jpeg)
        and orientation == 1
        and len(data) <= max_bytes
    ):
        return PreparedImage(
            filename=_with_extension(filename, source),
            data=data,
            content_type=source.mime_type,
            width=image.width,
            height=image.height,
        )

    notes: list[str] = []
    profile = profile_of(image)
    if decoded.frames > 1:
        notes.append(f"used the first frame of the animated {format_name(fmt)}")
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
        notes.append("rotated upright as its EXIF orientation says")
    if source is OutputFormat.JPEG and not plain_jpeg:
        notes.append(f"converted its {image.mode} colours to RGB")

    lossy = fmt in _LOSSY_FORMATS or (fmt == "WEBP" and not webp_is_lossless(data))
    if lossy and not has_transparency(image):
        target = OutputFormat.JPEG
        encoded = fit_jpeg(
            image, qualities=FALLBACK_JPEG_QUALITIES, limit=max_bytes, profile=profile
        )
    else:
        target = OutputFormat.PNG
        existing = data if source is OutputFormat.PNG and orientation == 1 else None
        encoded = fit_png(image, limit=max_bytes, profile=profile, existing=existing)

    notes.extend(
        _fit_notes(
            encoded,
            target,
            image.size,
            max_bytes,
            converted_from=None if source else fmt,
            was_over=len(data) > max_bytes,
        )
    )
    note = ", ".join(notes) if notes else None
    log.debug("prepared reference %s: %s", display_name(filename), note)
    return PreparedImage(
        filename=_with_extension(filename, encoded.format),
        data=encoded.data,
        content_type=encoded.format.mime_type,
        width=encoded.width,
        height=encoded.height,
        note=note,
    )


def _fit_notes(
    encoded: Encoded,
    target: OutputFormat,
    size: tuple[int, int],
    limit: int,
    *,
    converted_from: str | None,
    was_over: bool,
) -> list[str]:
    """Say what format the image became and what fitting the upload limit gave up."""
    within = f"to fit the {describe_limit(limit)} upload limit"
    as_jpeg = f"JPEG (quality {encoded.quality})"
    # JPEG where a PNG was wanted, or below the usual quality 95: loss taken to fit.
    lossier = encoded.format is OutputFormat.JPEG and (
        target is OutputFormat.PNG or encoded.quality != FALLBACK_JPEG_QUALITIES[0]
    )
    notes: list[str] = []
    if converted_from is not None:
        if lossier and not encoded.downscaled:
            return [f"converted from {format_name(converted_from)} to {as_jpeg} {within}"]
        notes.append(f"converted from {format_name(converted_from)} to {encoded.format.name}")
    if encoded.downscaled:
        how = f" as {as_jpeg}" if lossier else ""
        notes.append(
            f"downscaled from {size[0]}x{size[1]} to {encoded.width}x{encoded.height}{how} {within}"
        )
    elif encoded.recompressed:
        notes.append(f"recompressed losslessly {within}")
    elif lossier or (was_over and converted_from is None):
        notes.append(f"re-encoded as {as_jpeg} {within}")
    return notes


def _prepare_mask(data: bytes, target_size: tuple[int, int], filename: str) -> PreparedImage:
    """Sync body of ``prepare_mask`` (runs in a media thread)."""
    if min(target_size) < 1:
        raise ValueError(f"target_size must be positive, not {target_size}")
    name = display_name(filename)
    image = open_image(data, filename).image
    if _orientation(image) != 1:
        image = ImageOps.exif_transpose(image)
    notes: list[str] = []
    if has_transparency(image):
        alpha = image.convert("RGBA").getchannel("A")
        binary = all(value in (0, 255) for _count, value in alpha.getcolors(256) or [])
    else:
        alpha = for_jpeg(image).convert("L").point(lambda value: 0 if value >= 128 else 255)
        binary = True
        notes.append("white turned transparent (repaint) and black opaque (keep)")

    target_width, target_height = target_size
    width, height = alpha.size
    if (width, height) != target_size:
        if abs(width * target_height - height * target_width) > (
            _ASPECT_TOLERANCE * target_width * height
        ):
            size, target = f"{width}x{height}", f"{target_width}x{target_height}"
            raise InputError(
                _(
                    "`{name}` is {size}, but the mask must be {target} pixels (the size of the "
                    "first image), or the same shape at another size.",
                    name=name,
                    size=size,
                    target=target,
                ),
                field="mask",
            )
        alpha = alpha.resize(target_size, Image.Resampling.BILINEAR)
        if binary:
            alpha = alpha.point(lambda value: 255 if value >= 128 else 0)
        notes.append(f"resized from {width}x{height} to {target_width}x{target_height}")

    low, _high = alpha.getextrema()
    if low == 255:
        raise InputError(
            _(
                "`{name}` marks nothing to repaint. Paint the area to change white (or make it "
                "transparent) and leave the rest black.",
                name=name,
            ),
            field="mask",
        )
    # Only the alpha matters to the APIs; black everywhere else keeps the file small.
    mask = Image.new("RGBA", target_size, (0, 0, 0, 255))
    mask.putalpha(alpha)
    return PreparedImage(
        filename=_with_extension(filename, OutputFormat.PNG),
        data=encode_png(mask, optimize=True),
        content_type=OutputFormat.PNG.mime_type,
        width=target_width,
        height=target_height,
        note=", ".join(notes) if notes else None,
    )


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8), 1 when absent, unreadable or out of range."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _with_extension(filename: str, fmt: OutputFormat) -> str:
    """The base name with an extension that matches ``fmt`` (kept if it already does)."""
    base = PurePosixPath(filename.replace("\\", "/")).name or "image"
    path = PurePosixPath(base)
    valid = (".jpg", ".jpeg") if fmt is OutputFormat.JPEG else (".png",)
    if path.suffix.lower() in valid:
        return base
    stem = path.stem if path.suffix else base
    return f"{stem or 'image'}.{fmt.extension}"
