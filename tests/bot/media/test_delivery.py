"""Fitting result images for posting: pass-through, conversion, and fitting under a limit."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from PIL import Image, ImageChops

from bot.errors import InternalError
from bot.media._encode import encode_jpeg
from bot.media._threads import THREAD_NAME_PREFIX
from bot.media.delivery import fit_for_delivery
from bot.media.limits import describe_size
from bot.options import OutputFormat
from tests.bot.media.images import decode, encode, noise

PNG, JPEG = OutputFormat.PNG, OutputFormat.JPEG


async def _fit(
    data: bytes,
    output_format: OutputFormat,
    limit: int | None,
    *,
    compression: int | None = None,
) -> Any:
    return await fit_for_delivery(
        data,
        filename_stem="easel_1",
        output_format=output_format,
        compression=compression,
        limit_bytes=limit,
    )


@pytest.fixture
def pillow_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that opened an image with Pillow during the test."""
    threads: list[str] = []
    real_open = Image.open

    def spy(*args: Any, **kwargs: Any) -> Image.Image:
        threads.append(threading.current_thread().name)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    return threads


# --- pass-through -----------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "output_format"), [("PNG", PNG), ("JPEG", JPEG)])
async def test_file_in_the_requested_format_under_the_limit_is_returned_untouched(
    fmt: str, output_format: OutputFormat, pillow_calls: list[str]
) -> None:
    """Same bytes back, size read from the header, and Pillow never called."""
    data = encode(noise((120, 80)), fmt)
    fitted = await _fit(data, output_format, len(data))
    assert fitted.data is data
    assert (fitted.width, fitted.height, fitted.output_format) == (120, 80, output_format)
    assert (fitted.filename, fitted.note) == (f"easel_1.{output_format.extension}", None)
    assert pillow_calls == []


async def test_progressive_jpeg_is_recognised_for_pass_through(pillow_calls: list[str]) -> None:
    """The header reader finds the size in progressive (SOF2) JPEGs too."""
    data = encode(noise((64, 40)), "JPEG", progressive=True)
    fitted = await _fit(data, JPEG, None)
    assert (fitted.data, fitted.width, fitted.height) == (data, 64, 40)
    assert pillow_calls == []


# --- conversion -------------------------------------------------------------------------------


async def test_png_is_converted_to_jpeg_when_jpeg_was_requested() -> None:
    """A PNG result becomes a JPEG at quality 95 with no note (nothing was given up)."""
    image = noise((64, 64))
    fitted = await _fit(encode(image, "PNG"), JPEG, None)
    assert decode(fitted.data).format == "JPEG"
    assert fitted.data == encode_jpeg(image, quality=95)
    assert (fitted.filename, fitted.output_format, fitted.note) == ("easel_1.jpg", JPEG, None)


async def test_jpeg_compression_is_the_quality_where_100_is_best() -> None:
    """`compression` is the JPEG quality: 40 gives a much smaller file than 100."""
    data = encode(noise((64, 64)), "PNG")
    low = await _fit(data, JPEG, None, compression=40)
    best = await _fit(data, JPEG, None, compression=100)
    assert len(low.data) < len(best.data) / 2


async def test_transparent_png_to_jpeg_is_flattened_onto_white() -> None:
    """Transparent pixels turn white in a JPEG, not black."""
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    fitted = await _fit(encode(image, "PNG"), JPEG, None)
    pixel = decode(fitted.data).getpixel((16, 16))
    assert isinstance(pixel, tuple)
    assert min(pixel) > 250


async def test_jpeg_is_converted_to_png_when_png_was_requested() -> None:
    """A JPEG result becomes a PNG of the same pixels when no limit is in the way."""
    fitted = await _fit(encode(noise((32, 32)), "JPEG"), PNG, None)
    assert (decode(fitted.data).format, fitted.filename, fitted.note) == (
        "PNG",
        "easel_1.png",
        None,
    )


# --- fitting under a limit --------------------------------------------------------------------


async def test_poorly_compressed_png_over_the_limit_is_recompressed_losslessly() -> None:
    """A PNG saved without compression fits once recompressed: still PNG, same pixels."""
    image = Image.linear_gradient("L").resize((512, 512)).convert("RGB")
    data = encode(image, "PNG", compress_level=0)
    fitted = await _fit(data, PNG, 200_000)
    assert len(fitted.data) <= 200_000
    assert ImageChops.difference(decode(fitted.data).convert("RGB"), image).getbbox() is None
    assert (fitted.filename, fitted.output_format) == ("easel_1.png", PNG)
    assert str(fitted.note) == (
        "recompressed losslessly (same pixels) to fit the 200 KB limit; "
        f"the original PNG was {len(data) / 1000:.0f} KB"
    )


async def test_png_over_the_limit_becomes_the_best_jpeg_that_fits() -> None:
    """Quality 95 is too big, 90 fits: the result is JPEG 90 and the note says so."""
    image = noise((512, 512))
    at_95, at_90 = len(encode_jpeg(image, quality=95)), len(encode_jpeg(image, quality=90))
    limit = (at_95 + at_90) // 2000 * 1000
    data = encode(image, "PNG")
    fitted = await _fit(data, PNG, limit)
    assert fitted.data == encode_jpeg(image, quality=90)
    assert (fitted.filename, fitted.output_format) == ("easel_1.jpg", JPEG)
    assert str(fitted.note) == (
        f"re-encoded as JPEG (quality 90) to fit the {limit // 1000} KB limit; "
        f"the original PNG was {len(data) / 1000:.0f} KB"
    )


async def test_jpeg_over_the_limit_is_saved_at_a_lower_quality() -> None:
    """A JPEG request that does not fit at its quality drops to the next that fits."""
    image = noise((512, 512))
    limit = len(encode_jpeg(image, quality=90)) + 1000
    fitted = await _fit(encode(image, "PNG"), JPEG, limit, compression=95)
    assert len(fitted.data) <= limit
    assert fitted.note is not None
    assert str(fitted.note).startswith("saved at JPEG quality 90 instead of 95 to fit the")


async def test_tiny_limit_downscales_keeping_the_aspect_ratio() -> None:
    """When no JPEG quality fits, the image shrinks (aspect kept) until it does."""
    data = encode(noise((800, 600)), "PNG")
    fitted = await _fit(data, PNG, 30_000)
    result = decode(fitted.data)
    assert len(fitted.data) <= 30_000
    assert (result.format, result.size) == ("JPEG", (fitted.width, fitted.height))
    assert fitted.width < 800
    assert abs(fitted.width / fitted.height - 800 / 600) < 0.02
    assert str(fitted.note) == (
        f"downscaled from 800x600 to {fitted.width}x{fitted.height} as JPEG (quality 85) "
        f"to fit the 30 KB limit; the original PNG was {len(data) / 1e6:.1f} MB"
    )


async def test_transparent_png_over_the_limit_stays_png_and_is_downscaled() -> None:
    """Real transparency is kept: the PNG shrinks instead of becoming a JPEG."""
    fitted = await _fit(encode(noise((400, 400), "RGBA"), "PNG"), PNG, 100_000)
    result = decode(fitted.data)
    assert len(fitted.data) <= 100_000
    assert (result.format, result.mode, fitted.filename) == ("PNG", "RGBA", "easel_1.png")
    assert fitted.note is not None
    assert "(kept as PNG to keep its transparency)" in str(fitted.note)


async def test_jpeg_result_is_kept_when_png_was_requested_but_would_not_fit() -> None:
    """Re-encoding a JPEG loses more than sending it: the original JPEG goes out instead."""
    data = encode(noise((256, 256)), "JPEG", quality=90)
    fitted = await _fit(data, PNG, len(data) + 10)
    assert fitted.data is data
    assert (fitted.filename, fitted.output_format) == ("easel_1.jpg", JPEG)
    assert fitted.note is not None
    assert str(fitted.note).startswith("sent as the original JPEG: as a PNG it would be over")


@pytest.mark.parametrize(
    ("source", "output_format", "limit", "extension"),
    [
        ("PNG", PNG, None, "png"),
        ("PNG", JPEG, None, "jpg"),
        ("JPEG", PNG, None, "png"),
        ("PNG", PNG, 20_000, "jpg"),
        ("WEBP", PNG, None, "png"),
    ],
)
async def test_filename_extension_matches_the_final_format(
    source: str, output_format: OutputFormat, limit: int | None, extension: str
) -> None:
    """Whatever happened, the extension names the format of the bytes."""
    fitted = await _fit(encode(noise((128, 128)), source), output_format, limit)
    assert fitted.filename == f"easel_1.{extension}"
    assert decode(fitted.data).format == {"png": "PNG", "jpg": "JPEG"}[extension]
    assert fitted.output_format.extension == extension


# --- failures ---------------------------------------------------------------------------------


async def test_unreadable_result_is_an_internal_error() -> None:
    """An HTML error page instead of an image is the service's fault, not the member's."""
    with pytest.raises(InternalError, match="cannot read"):
        await _fit(b"<html>502 Bad Gateway</html>", PNG, None)


async def test_impossibly_small_limit_is_an_internal_error_not_an_oversized_file() -> None:
    """A file over the limit is never returned."""
    with pytest.raises(InternalError, match="Could not fit"):
        await _fit(encode(noise((256, 256)), "PNG"), PNG, 300)


# --- the event loop ---------------------------------------------------------------------------


async def test_fitting_runs_pillow_in_a_media_worker_thread(pillow_calls: list[str]) -> None:
    """The slow path decodes in the media pool, never on the loop's thread."""
    await _fit(encode(noise((64, 64)), "PNG"), JPEG, None)
    assert pillow_calls
    assert all(name.startswith(THREAD_NAME_PREFIX) for name in pillow_calls)


async def test_event_loop_keeps_ticking_while_a_large_image_is_fitted() -> None:
    """A ticker on the loop never stalls for long while seconds-scale Pillow work runs."""
    data = encode(noise((2048, 2048)), "PNG", compress_level=1)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    fitted = await _fit(data, PNG, 1_000_000)
    elapsed = time.perf_counter() - started
    done.set()
    await task
    assert len(fitted.data) <= 1_000_000
    assert elapsed > 0.15  # real work happened...
    assert max(gaps) < elapsed / 3  # ...without holding the loop (on it, one gap = all of it)


async def test_jpeg_over_the_limit_is_reencoded_and_the_note_says_so() -> None:
    """A JPEG result over the limit is re-encoded even at the same quality, never kept."""
    image = noise((512, 512))
    data = encode(image, "JPEG", quality=100, subsampling=0)
    limit = len(encode_jpeg(image, quality=95)) + 1000
    assert len(data) > limit
    fitted = await _fit(data, JPEG, limit)
    assert len(fitted.data) <= limit
    assert fitted.note is not None
    assert str(fitted.note).startswith("re-encoded at JPEG quality 95 to fit the")
    assert str(fitted.note).endswith(f"the original JPEG was {describe_size(len(data))}")


async def test_colour_profile_survives_conversion() -> None:
    """Re-encoding keeps the ICC profile, so colours look the same after conversion."""
    profile = b"\x00" * 128 + b"fake-but-carried"
    data = encode(noise((32, 32)), "PNG", icc_profile=profile)
    fitted = await _fit(data, JPEG, None)
    assert decode(fitted.data).info.get("icc_profile") == profile
