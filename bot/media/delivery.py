"""Fit a finished image for posting: the requested format, under the attachment size limit.

This runs for every result image, so the common case costs nothing: bytes that are already in
the requested format and under the limit are returned as they are, recognised from their header
without decoding. Otherwise the image is converted and, if needed, fitted with the least loss
(see ``bot.media._encode``), and ``note`` tells the member what was done.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import InputError, InternalError
from bot.i18n import Text, Value, _, literal
from bot.media._decode import format_name, open_image
from bot.media._encode import (
    DEFAULT_JPEG_QUALITY,
    FALLBACK_JPEG_QUALITIES,
    Encoded,
    fit_jpeg,
    fit_png,
    for_png,
    png_lossless,
    profile_of,
)
from bot.media._sniff import sniff
from bot.media._threads import run_sync
from bot.media.limits import describe_limit, describe_size
from bot.options import OutputFormat

log = logging.getLogger(__name__)

_LOWER_QUALITIES = (90, 85)


class FittedImage(BaseModel):
    """A result image ready to attach (the engine turns it into a ``ResultImage``)."""

    model_config = ConfigDict(frozen=True)

    filename: str  # ``filename_stem`` plus the extension of ``output_format``
    data: bytes = Field(repr=False)
    width: int
    height: int
    output_format: OutputFormat  # the format of ``data``; differs from the request only to fit
    note: Text | None = None  # set only when something was given up to fit the limit


def jpeg_quality(compression: int | None) -> int:
    """The JPEG quality for a request's ``compression`` (1-100, 100 = best; default 95)."""
    if compression is None:
        return DEFAULT_JPEG_QUALITY
    return max(1, min(100, compression))


async def fit_for_delivery(
    data: bytes,
    *,
    filename_stem: str,
    output_format: OutputFormat,
    compression: int | None,
    limit_bytes: int | None,
) -> FittedImage:
    """Return ``data`` in ``output_format`` and at most ``limit_bytes`` long, losing the least.

    Already in the format and under the limit: the same bytes, untouched, with no thread hop.
    Otherwise it is converted (JPEG uses ``compression`` as the quality and flattens
    transparency onto white) and, when over the limit, fitted: an optimized PNG, then JPEG at
    quality 95 down to 85 (a PNG with real transparency stays PNG), then downscaled.

    Raises ``InternalError`` if ``data`` is not a readable image (the service sent something
    broken) or cannot be fitted at all (only for absurdly small limits).
    """
    sniffed = sniff(data)
    if (
        sniffed is not None
        and sniffed.format is output_format
        and (limit_bytes is None or len(data) <= limit_bytes)
    ):
        return FittedImage(
            filename=f"{filename_stem}.{output_format.extension}",
            data=data,
            width=sniffed.width,
            height=sniffed.height,
            output_format=output_format,
        )
    return await run_sync(
        _fit, data, filename_stem, output_format, jpeg_quality(compression), limit_bytes
    )


def _fit(
    data: bytes,
    filename_stem: str,
    output_format: OutputFormat,
    quality: int,
    limit: int | None,
) -> FittedImage:
    """The slow path, in a media thread: decode, convert, fit, and describe what was done."""
    try:
        image = open_image(data, f"{filename_stem}").image
    except InputError as exc:
        raise InternalError(
            _("The image service sent a result Easel cannot read: {reason}", reason=exc.text)
        ) from exc
    source = _output_format_of(image.format)
    source_name = format_name(image.format)
    profile = profile_of(image)
    original = _(
        "the original {format} was {size}", format=source_name, size=describe_size(len(data))
    )
    within = (
        _("to fit the {limit} limit", limit=describe_limit(limit)) if limit is not None else None
    )

    def fitted(encoded: Encoded, note: Text | None) -> FittedImage:
        if note:
            log.info("%s: %s", filename_stem, note)
        return FittedImage(
            filename=f"{filename_stem}.{encoded.format.extension}",
            data=encoded.data,
            width=encoded.width,
            height=encoded.height,
            output_format=encoded.format,
            note=note,
        )

    if output_format is OutputFormat.JPEG:
        lower = tuple(q for q in _LOWER_QUALITIES if q < quality)
        encoded = fit_jpeg(image, qualities=(quality, *lower), limit=limit, profile=profile)
    elif source is OutputFormat.JPEG and limit is not None:
        # A PNG made from a JPEG only grows. If no PNG fits, sending the JPEG as it is loses
        # less than re-encoding it; only a JPEG over the limit itself is re-encoded.
        png, _size = png_lossless(for_png(image), limit=limit, profile=profile)
        if png is not None:
            encoded = png
        elif len(data) <= limit:
            width, height = image.size
            kept = Encoded(data, OutputFormat.JPEG, width, height)
            too_big = _(
                "sent as the original JPEG: as a PNG it would be over the {limit} limit",
                limit=describe_limit(limit),
            )
            return fitted(kept, too_big)
        else:
            encoded = fit_jpeg(
                image, qualities=FALLBACK_JPEG_QUALITIES, limit=limit, profile=profile
            )
    else:
        existing = data if source is OutputFormat.PNG else None
        encoded = fit_png(image, limit=limit, profile=profile, existing=existing)
    note = _describe(
        encoded,
        image.size,
        output_format,
        quality,
        within,
        original,
        same_format=source is output_format,
    )
    return fitted(encoded, note)


def _output_format_of(pillow_format: str | None) -> OutputFormat | None:
    """PNG and JPEG (MPO is a JPEG with extra pictures appended) as ``OutputFormat``."""
    if pillow_format == "PNG":
        return OutputFormat.PNG
    if pillow_format in ("JPEG", "MPO"):
        return OutputFormat.JPEG
    return None


def _describe(
    encoded: Encoded,
    original_size: tuple[int, int],
    requested: OutputFormat,
    quality: int,
    within: Text | None,
    original: Text,
    *,
    same_format: bool,
) -> Text | None:
    """One phrase for the member, or None when nothing was given up."""
    fit = within or literal("")
    made_at = encoded.quality if encoded.quality is not None else quality  # JPEG quality used
    if encoded.downscaled:
        width, height = original_size
        sizes: dict[str, Value] = {
            "old": f"{width}x{height}",
            "new": f"{encoded.width}x{encoded.height}",
            "within": fit,
            "original": original,
        }
        if encoded.format is OutputFormat.JPEG:
            return _(
                "downscaled from {old} to {new} as JPEG (quality {quality}) {within}; {original}",
                quality=made_at,
                **sizes,
            )
        if requested is OutputFormat.PNG:
            return _(
                "downscaled from {old} to {new} (kept as PNG to keep its transparency) "
                "{within}; {original}",
                **sizes,
            )
        return _("downscaled from {old} to {new} {within}; {original}", **sizes)
    if encoded.recompressed:
        return _(
            "recompressed losslessly (same pixels) {within}; {original}",
            within=fit,
            original=original,
        )
    if encoded.format is not requested:
        return _(
            "re-encoded as JPEG (quality {quality}) {within}; {original}",
            quality=made_at,
            within=fit,
            original=original,
        )
    if encoded.format is OutputFormat.JPEG and encoded.quality != quality:
        return _(
            "saved at JPEG quality {quality} instead of {asked} {within}; {original}",
            quality=made_at,
            asked=quality,
            within=fit,
            original=original,
        )
    if same_format and within is not None:
        # The source was already a JPEG, but over the limit: it was re-encoded at the quality asked.
        return _(
            "re-encoded at JPEG quality {quality} {within}; {original}",
            quality=made_at,
            within=within,
            original=original,
        )
    return None
