"""Preparing references (PNG/JPEG, upright, under the upload cap) and masks (alpha PNGs)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from bot.errors import InputError
from bot.media.inputs import prepare_mask, prepare_reference
from bot.media.limits import UPLOAD_MAX_BYTES
from tests.bot.media.images import (
    BLUE,
    RED,
    animated_gif,
    decode,
    encode,
    halves,
    jpeg_with_orientation,
    noise,
)

# --- references: pass-through ----------------------------------------------------------------


async def test_png_reference_under_the_cap_passes_through_as_the_same_bytes() -> None:
    """An upright PNG that fits is not re-encoded."""
    data = encode(noise((64, 48)), "PNG")
    prepared = await prepare_reference(data, "cat.png")
    assert prepared.data == data
    assert (prepared.filename, prepared.content_type) == ("cat.png", "image/png")
    assert (prepared.width, prepared.height, prepared.note) == (64, 48, None)


async def test_jpeg_reference_under_the_cap_passes_through_keeping_its_jpeg_name() -> None:
    """An upright RGB JPEG that fits is not re-encoded, and `.jpeg` stays `.jpeg`."""
    data = encode(noise((64, 48)), "JPEG")
    prepared = await prepare_reference(data, "photo.jpeg")
    assert prepared.data == data
    assert (prepared.filename, prepared.content_type, prepared.note) == (
        "photo.jpeg",
        "image/jpeg",
        None,
    )


@pytest.mark.parametrize(
    ("fmt", "filename", "expected"),
    [
        ("JPEG", "photo.png", "photo.jpg"),
        ("PNG", "upload", "upload.png"),
        ("PNG", "a.b.txt", "a.b.png"),
    ],
)
async def test_reference_name_gets_the_extension_of_its_real_format(
    fmt: str, filename: str, expected: str
) -> None:
    """The uploaded name's extension always matches the bytes."""
    prepared = await prepare_reference(encode(noise((8, 8)), fmt), filename)
    assert prepared.filename == expected


# --- references: conversions ------------------------------------------------------------------


async def test_lossy_webp_becomes_a_jpeg() -> None:
    """A lossy WebP is re-encoded as JPEG (PNG would only inflate lossy pixels)."""
    prepared = await prepare_reference(encode(noise((64, 64)), "WEBP", quality=80), "pic.webp")
    assert decode(prepared.data).format == "JPEG"
    assert (prepared.filename, prepared.content_type) == ("pic.jpg", "image/jpeg")
    assert prepared.note == "converted from WebP to JPEG"


async def test_lossless_webp_becomes_a_png_with_identical_pixels() -> None:
    """A lossless WebP becomes a PNG without losing a pixel."""
    image = noise((64, 64))
    prepared = await prepare_reference(encode(image, "WEBP", lossless=True), "pic.webp")
    result = decode(prepared.data)
    assert (result.format, prepared.filename) == ("PNG", "pic.png")
    assert ImageChops.difference(result.convert("RGB"), image).getbbox() is None


async def test_webp_with_transparency_becomes_a_png_keeping_it() -> None:
    """Transparency survives: the WebP becomes an RGBA PNG."""
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 16, 32))
    prepared = await prepare_reference(encode(image, "WEBP", quality=90), "sticker.webp")
    result = decode(prepared.data)
    assert (result.format, result.mode) == ("PNG", "RGBA")
    assert result.getpixel((24, 16))[3] == 0  # type: ignore[index]


async def test_animated_gif_becomes_a_png_of_its_first_frame() -> None:
    """Only the first frame of an animation is used, and the note says so."""
    prepared = await prepare_reference(animated_gif([RED, BLUE]), "anim.gif")
    result = decode(prepared.data)
    assert result.format == "PNG"
    assert result.convert("RGB").getpixel((5, 5)) == RED
    assert prepared.note == "used the first frame of the animated GIF, converted from GIF to PNG"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
async def test_bmp_and_tiff_become_pngs_with_identical_pixels(fmt: str) -> None:
    """Lossless formats the APIs do not take become PNG, pixel for pixel."""
    image = noise((40, 30))
    prepared = await prepare_reference(encode(image, fmt), f"scan.{fmt.lower()}")
    result = decode(prepared.data)
    assert (result.format, prepared.filename, (prepared.width, prepared.height)) == (
        "PNG",
        "scan.png",
        (40, 30),
    )
    assert ImageChops.difference(result.convert("RGB"), image).getbbox() is None


async def test_exif_rotated_jpeg_is_turned_upright_and_loses_the_tag() -> None:
    """Orientation 6 means "turn 90 degrees clockwise": the left (red) half ends on top."""
    data = jpeg_with_orientation(halves((40, 20), RED, BLUE), 6)
    prepared = await prepare_reference(data, "phone.jpg")
    result = decode(prepared.data)
    assert (result.format, result.size, (prepared.width, prepared.height)) == (
        "JPEG",
        (20, 40),
        (20, 40),
    )
    top, bottom = result.getpixel((10, 5)), result.getpixel((10, 35))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 > top[2]
    assert bottom[2] > 200 > bottom[0]
    assert result.getexif().get(0x0112, 1) == 1
    assert prepared.note == "rotated upright as its EXIF orientation says"


async def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    """CMYK JPEGs (print exports) are re-encoded as RGB, which every API reads."""
    prepared = await prepare_reference(encode(Image.new("CMYK", (16, 16)), "JPEG"), "print.jpg")
    assert decode(prepared.data).mode == "RGB"
    assert prepared.note == "converted its CMYK colours to RGB"


async def test_reference_over_10_mb_is_reencoded_under_10_mb() -> None:
    """An 11 MB noise PNG does not fit the upload cap, so it becomes a high-quality JPEG."""
    data = encode(noise((1900, 1900)), "PNG", compress_level=0)
    assert len(data) > UPLOAD_MAX_BYTES
    prepared = await prepare_reference(data, "huge.png")
    assert len(prepared.data) <= UPLOAD_MAX_BYTES
    assert (decode(prepared.data).format, prepared.filename) == ("JPEG", "huge.jpg")
    assert (prepared.width, prepared.height) == (1900, 1900)
    assert prepared.note is not None
    assert prepared.note.startswith("re-encoded as JPEG (quality ")
    assert prepared.note.endswith("to fit the 10 MB upload limit")


async def test_png_reference_that_recompresses_under_the_cap_stays_a_lossless_png() -> None:
    """A badly compressed PNG is first recompressed (same pixels), not turned into JPEG."""
    image = Image.linear_gradient("L").resize((512, 512)).convert("RGB")
    data = encode(image, "PNG", compress_level=0)
    prepared = await prepare_reference(data, "flat.png", max_bytes=len(data) // 4)
    result = decode(prepared.data)
    assert result.format == "PNG"
    assert ImageChops.difference(result.convert("RGB"), image).getbbox() is None
    assert prepared.note is not None
    assert prepared.note.startswith("recompressed losslessly")


async def test_transparent_reference_over_the_cap_stays_png_and_is_downscaled() -> None:
    """Transparency is never flattened to fit: the PNG shrinks instead, aspect kept."""
    data = encode(noise((600, 400), "RGBA"), "PNG")
    prepared = await prepare_reference(data, "cutout.png", max_bytes=200_000)
    result = decode(prepared.data)
    assert len(prepared.data) <= 200_000
    assert (result.format, result.mode) == ("PNG", "RGBA")
    assert prepared.width < 600
    assert abs(prepared.width / prepared.height - 1.5) < 0.02
    assert prepared.note == (
        f"downscaled from 600x400 to {prepared.width}x{prepared.height} "
        "to fit the 200 KB upload limit"
    )


# --- references: refusals ---------------------------------------------------------------------


async def test_reference_that_is_no_image_is_refused_naming_it() -> None:
    """Garbage bytes give the member a message with the file name."""
    with pytest.raises(InputError, match=r"^`notes.txt` is not an image Easel can read"):
        await prepare_reference(b"just text", "notes.txt")


async def test_truncated_jpeg_reference_is_refused() -> None:
    """A JPEG cut short is caught before upload."""
    data = encode(noise((64, 64)), "JPEG")
    with pytest.raises(InputError, match="damaged or cut short"):
        await prepare_reference(data[: len(data) // 2], "cut.jpg")


# --- masks ------------------------------------------------------------------------------------


def _box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """Black with a white box: white marks the area to repaint."""
    image = Image.new("L", size, 0)
    image.paste(255, box)
    return image


async def test_black_and_white_mask_turns_white_transparent_and_black_opaque() -> None:
    """White = repaint (alpha 0), black = keep (alpha 255), as an RGBA PNG."""
    data = encode(_box_mask((64, 64), (16, 16, 48, 48)), "PNG")
    prepared = await prepare_mask(data, target_size=(64, 64), filename="mask.png")
    result = decode(prepared.data)
    assert (result.format, result.mode, result.size) == ("PNG", "RGBA", (64, 64))
    alpha = result.getchannel("A")
    assert alpha.getpixel((32, 32)) == 0
    assert alpha.getpixel((4, 4)) == 255
    assert prepared.note == "white turned transparent (repaint) and black opaque (keep)"


async def test_black_and_white_jpeg_mask_is_thresholded_despite_artifacts() -> None:
    """A JPEG mask's ringing does not leak partial alpha: every pixel is 0 or 255."""
    data = encode(_box_mask((64, 64), (16, 16, 48, 48)), "JPEG", quality=60)
    prepared = await prepare_mask(data, target_size=(64, 64), filename="mask.jpg")
    alpha = decode(prepared.data).getchannel("A")
    assert {value for _count, value in alpha.getcolors() or []} == {0, 255}
    assert prepared.filename == "mask.png"


async def test_mask_with_transparency_keeps_its_alpha() -> None:
    """An erased-area mask (photo with a transparent hole) is used as drawn."""
    image = noise((32, 32), "RGB").convert("RGBA")
    image.paste((0, 0, 0, 0), (8, 8, 24, 24))
    prepared = await prepare_mask(encode(image, "PNG"), target_size=(32, 32), filename="m.png")
    alpha = decode(prepared.data).getchannel("A")
    assert ImageChops.difference(alpha, image.getchannel("A")).getbbox() is None
    assert prepared.note is None


async def test_mask_of_the_same_shape_is_resized_to_the_target() -> None:
    """A 512x768 mask for a 1024x1536 image is scaled up and stays crisp."""
    data = encode(_box_mask((512, 768), (0, 0, 256, 768)), "PNG")
    prepared = await prepare_mask(data, target_size=(1024, 1536), filename="mask.png")
    result = decode(prepared.data)
    assert result.size == (1024, 1536)
    assert {value for _count, value in result.getchannel("A").getcolors() or []} == {0, 255}
    assert prepared.note is not None
    assert prepared.note.endswith("resized from 512x768 to 1024x1536")


async def test_mask_with_rounded_proportions_counts_as_the_same_shape() -> None:
    """683x1024 is 2:3 give or take a pixel, so it is resized, not refused."""
    data = encode(_box_mask((683, 1024), (0, 0, 300, 300)), "PNG")
    prepared = await prepare_mask(data, target_size=(1024, 1536), filename="mask.png")
    assert (prepared.width, prepared.height) == (1024, 1536)


async def test_mask_of_another_shape_is_refused_stating_the_expected_size() -> None:
    """A 4:3 mask for a square image cannot be fixed by resizing."""
    data = encode(_box_mask((800, 600), (0, 0, 100, 100)), "PNG")
    with pytest.raises(InputError) as caught:
        await prepare_mask(data, target_size=(1024, 1024), filename="mask.png")
    assert "`mask.png` is 800x600, but the mask must be 1024x1024 pixels" in (
        caught.value.user_message
    )
    assert caught.value.field == "mask"


async def test_mask_that_marks_nothing_to_repaint_is_refused() -> None:
    """An all-black mask would change nothing, so it is refused before any spend."""
    data = encode(Image.new("L", (32, 32), 0), "PNG")
    with pytest.raises(InputError, match=r"`blank\.png` marks nothing to repaint"):
        await prepare_mask(data, target_size=(32, 32), filename="blank.png")


async def test_jpeg_reference_over_the_cap_is_reencoded_with_a_note() -> None:
    """A JPEG too big to upload is re-encoded (still JPEG) and the note says why."""
    data = encode(noise((256, 256)), "JPEG", quality=100, subsampling=0)
    prepared = await prepare_reference(data, "big.jpg", max_bytes=len(data) - 1)
    assert len(prepared.data) < len(data)
    assert prepared.filename == "big.jpg"
    assert prepared.note is not None
    assert prepared.note.startswith("re-encoded as JPEG (quality ")
    assert prepared.note.endswith(" upload limit")


async def test_lossless_webp_too_big_for_png_becomes_a_jpeg_in_one_phrase() -> None:
    """When no PNG fits, the conversion and the reason share one phrase."""
    data = encode(noise((256, 256)), "WEBP", lossless=True)
    prepared = await prepare_reference(data, "pic.webp", max_bytes=150_000)
    assert prepared.filename == "pic.jpg"
    assert prepared.note is not None
    assert prepared.note.startswith("converted from WebP to JPEG (quality ")
    assert prepared.note.endswith("to fit the 150 KB upload limit")
