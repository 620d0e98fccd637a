"""The encoding helpers: size estimates, transparency, and mode conversions."""

from __future__ import annotations

from functools import partial

from PIL import Image

from bot.media._encode import encode_jpeg, encode_png, estimate, for_jpeg, for_png, has_transparency
from tests.bot.media.images import noise


def _photo_like(size: tuple[int, int]) -> Image.Image:
    """Smooth shapes with some grain: compresses like a picture, not like noise or flat colour."""
    width, height = size
    base = noise((width // 16, height // 16)).resize(size, Image.Resampling.BICUBIC)
    return Image.blend(base, noise(size), 0.1)


def test_estimate_from_strips_is_close_to_the_real_size() -> None:
    """Encoding an eighth of the rows predicts the full JPEG and PNG within 15 %."""
    image = _photo_like((1536, 1024))
    for encoder in (partial(encode_jpeg, quality=90), encode_png):
        guess = estimate(image, encoder)
        actual = len(encoder(image))
        assert guess.data is None
        assert abs(guess.size - actual) / actual < 0.15


def test_estimate_of_a_small_image_is_the_real_encode() -> None:
    """Below a megapixel the full encode is cheap, so it is returned for reuse."""
    image = noise((100, 100))
    guess = estimate(image, encode_png)
    assert guess.data is not None
    assert guess.size == len(guess.data)


def test_has_transparency_ignores_a_fully_opaque_alpha_channel() -> None:
    """An alpha channel alone is not transparency; one see-through pixel is."""
    image = Image.new("RGBA", (4, 4), (1, 2, 3, 255))
    assert has_transparency(image) is False
    image.putpixel((0, 0), (1, 2, 3, 254))
    assert has_transparency(image) is True


def test_for_png_drops_an_opaque_alpha_channel() -> None:
    """Dropping an unused alpha is lossless and makes the PNG smaller."""
    assert for_png(Image.new("RGBA", (4, 4), (1, 2, 3, 255))).mode == "RGB"
    assert for_png(Image.new("RGBA", (4, 4), (1, 2, 3, 0))).mode == "RGBA"


def test_for_jpeg_scales_16_bit_grey_instead_of_clipping() -> None:
    """Mid-grey in 16 bits stays mid-grey in 8 bits (Pillow alone would clip it to white)."""
    image = Image.new("I;16", (2, 1), 32896)
    assert for_jpeg(image).getpixel((0, 0)) == 128
