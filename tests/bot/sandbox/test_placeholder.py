"""Sandbox placeholders have the exact requested size, are labelled, and are cheap."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.sandbox.placeholder import render_edit_placeholder, render_placeholder

# Extremes of both size tables (smallest, tallest, widest, largest 4K) plus the common 16:9 2K.
SIZES = [(1024, 1024), (768, 1024), (1152, 2688), (2688, 1152), (3840, 1648), (2048, 1152)]


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_placeholder_has_exact_size(width: int, height: int) -> None:
    """Delivery code fits files by size, so the sandbox must match the size table exactly."""
    image = _open(render_placeholder(width, height, "a lighthouse at dusk", index=1, count=2))
    assert image.size == (width, height)


def test_placeholder_is_png_by_default_and_jpeg_on_request() -> None:
    """PNG unless JPEG is asked for, like the real API's output_format."""
    assert _open(render_placeholder(64, 48, "p")).format == "PNG"
    jpeg = _open(render_placeholder(64, 48, "p", output_format="jpeg", jpeg_quality=70))
    assert (jpeg.format, jpeg.size) == ("JPEG", (64, 48))


def test_same_prompt_gives_same_image_and_other_prompt_other_colours() -> None:
    """The gradient is seeded from the prompt: repeatable, and distinct between prompts."""
    first = render_placeholder(320, 200, "red fox")
    assert first == render_placeholder(320, 200, "red fox")
    corner = (40, 30)
    a = _open(first).convert("RGB").getpixel(corner)
    b = _open(render_placeholder(320, 200, "blue whale")).convert("RGB").getpixel(corner)
    assert a != b


def test_placeholder_carries_white_label_text_in_its_middle() -> None:
    """The "SANDBOX" label and prompt are drawn in the centre band (white text pixels)."""
    image = _open(render_placeholder(800, 600, "label me")).convert("RGB")
    band = image.crop((0, 200, 800, 400))
    colours = band.getcolors(maxcolors=1_000_000) or []
    white = sum(count for count, rgb in colours if isinstance(rgb, tuple) and min(rgb) >= 245)
    assert white > 2_000


def test_long_prompt_is_truncated_not_an_error() -> None:
    """A 32,000-character prompt still renders at the exact size."""
    image = _open(render_placeholder(1024, 1536, "word " * 6400))
    assert image.size == (1024, 1536)


def test_non_positive_size_is_refused() -> None:
    """A zero size is a caller bug, reported clearly."""
    with pytest.raises(ValueError, match="0x10"):
        render_placeholder(0, 10, "p")


BLUE = (20, 60, 200)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _wide_photo_with_a_square() -> Image.Image:
    """1920x1080 blue, a black 180x180 square in its right half, near the middle."""
    photo = Image.new("RGB", (1920, 1080), BLUE)
    photo.paste((0, 0, 0), (1100, 450, 1280, 630))
    return photo


def _left_half_repainted(size: tuple[int, int]) -> Image.Image:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    return mask


def _dark_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the near-black pixels."""
    dark = image.convert("L").point(lambda value: 255 if value < 40 else 0)
    return dark.getbbox()


@pytest.mark.parametrize("size", [(1536, 1024), (1024, 1024), (1536, 864)])
def test_kept_pixels_keep_the_inputs_aspect_whatever_the_output_shape(
    size: tuple[int, int],
) -> None:
    """A 16:9 photo edited at another shape is cropped to cover it, never squashed."""
    photo = _wide_photo_with_a_square()
    data = render_edit_placeholder(
        *size, "p", [_png(photo)], _png(_left_half_repainted(photo.size))
    )
    image = _open(data).convert("RGB")
    assert image.size == size
    box = _dark_box(image.crop((size[0] // 2 + 8, 0, *size)))
    assert box is not None
    width, height = box[2] - box[0], box[3] - box[1]
    assert abs(width - height) <= 2, (width, height)  # still a square
    scale = max(size[0] / 1920, size[1] / 1080)  # cover: the larger factor, the rest cropped
    assert abs(width - 180 * scale) <= 2
