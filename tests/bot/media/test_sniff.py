"""Reading PNG/JPEG headers and WebP kinds without Pillow."""

from __future__ import annotations

from PIL import Image

from bot.media._sniff import Sniffed, sniff, webp_is_lossless
from bot.options import OutputFormat
from tests.bot.media.images import encode, noise


def test_sniff_reads_the_size_of_a_png() -> None:
    """The IHDR chunk gives width and height."""
    assert sniff(encode(noise((33, 17)), "PNG")) == Sniffed(OutputFormat.PNG, 33, 17)


def test_sniff_reads_the_size_of_a_jpeg_past_its_exif_and_icc_segments() -> None:
    """APP segments before the frame header are skipped by their lengths."""
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    data = encode(noise((40, 24)), "JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 3000)
    assert sniff(data) == Sniffed(OutputFormat.JPEG, 40, 24)


def test_sniff_returns_none_for_other_formats_and_garbage() -> None:
    """Anything else is left to Pillow."""
    assert sniff(encode(noise((8, 8)), "WEBP")) is None
    assert sniff(b"\x89PNG\r\n\x1a\n") is None
    assert sniff(b"\xff\xd8\xff\xe0\x00") is None
    assert sniff(b"<html>") is None


def test_webp_kind_is_read_from_its_chunks() -> None:
    """VP8L means lossless, VP8 lossy, including extended (alpha) and animated files."""
    image = noise((16, 16))
    assert webp_is_lossless(encode(image, "WEBP", lossless=True)) is True
    assert webp_is_lossless(encode(image, "WEBP", quality=80)) is False
    assert webp_is_lossless(encode(noise((16, 16), "RGBA"), "WEBP", quality=80)) is False
    frames = [noise((16, 16)), noise((16, 16))]
    animated = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert webp_is_lossless(animated) is True
    assert webp_is_lossless(encode(image, "PNG")) is False
