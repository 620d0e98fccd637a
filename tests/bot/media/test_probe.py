"""Probing: what a file is, and refusing what Easel cannot or should not read."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PIL import Image

from bot.errors import InputError
from bot.media._threads import THREAD_NAME_PREFIX
from bot.media.limits import INPUT_MAX_BYTES
from bot.media.probe import probe
from tests.bot.media.images import (
    BLUE,
    RED,
    animated_gif,
    encode,
    halves,
    jpeg_with_orientation,
    noise,
    png_header,
)


async def test_probe_reports_format_size_mode_alpha_and_byte_size_of_a_png() -> None:
    """An RGBA PNG is described as PNG, its size, RGBA, with alpha, one frame."""
    data = encode(Image.new("RGBA", (30, 20), (1, 2, 3, 128)), "PNG")
    info = await probe(data, filename="a.png")
    assert (info.format, info.mime_type) == ("PNG", "image/png")
    assert (info.width, info.height, info.mode) == (30, 20, "RGBA")
    assert info.has_alpha is True
    assert (info.frames, info.byte_size, info.orientation) == (1, len(data), 1)


async def test_probe_reports_jpeg_without_alpha() -> None:
    """A JPEG has no alpha."""
    info = await probe(encode(noise((16, 16)), "JPEG"), filename="a.jpg")
    assert (info.format, info.mode, info.has_alpha) == ("JPEG", "RGB", False)


async def test_probe_reports_displayed_size_of_an_exif_rotated_jpeg() -> None:
    """Orientation 6 (turn 90 degrees) swaps the reported width and height."""
    data = jpeg_with_orientation(halves((40, 20), RED, BLUE), 6)
    info = await probe(data, filename="phone.jpg")
    assert (info.width, info.height, info.orientation) == (20, 40, 6)


async def test_probe_counts_the_frames_of_an_animated_gif() -> None:
    """An animated GIF reports every frame."""
    info = await probe(animated_gif([RED, BLUE, RED]), filename="anim.gif")
    assert (info.format, info.frames) == ("GIF", 3)


async def test_probe_refuses_a_text_file_naming_it() -> None:
    """Bytes that are no image are refused with the file's name and the formats to use."""
    with pytest.raises(InputError) as caught:
        await probe(b"meow, not a picture\n" * 10, filename="cat.txt")
    assert caught.value.user_message == (
        "`cat.txt` is not an image Easel can read. Upload a PNG, JPEG, WebP or GIF."
    )


async def test_probe_refuses_an_empty_file() -> None:
    """Zero bytes are refused, not passed to Pillow."""
    with pytest.raises(InputError, match=r"`empty\.png` is empty"):
        await probe(b"", filename="empty.png")


async def test_probe_refuses_a_truncated_png_as_damaged() -> None:
    """A PNG cut short is caught by decoding, not later upstream."""
    data = encode(noise((64, 64)), "PNG")
    with pytest.raises(InputError, match=r"`cut\.png` is damaged or cut short"):
        await probe(data[: len(data) // 2], filename="cut.png")


async def test_probe_refuses_eps_which_pillow_would_hand_to_ghostscript() -> None:
    """Formats outside the allow-list (EPS runs an external program) are not images here."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    with pytest.raises(InputError, match="is not an image Easel can read"):
        await probe(eps, filename="x.eps")


async def test_probe_refuses_an_image_over_the_pixel_cap_stating_its_dimensions() -> None:
    """9000x9000 (81 MP) is over Easel's 64 MP cap, refused from the header alone."""
    with pytest.raises(InputError) as caught:
        await probe(png_header(9000, 9000), filename="big.png")
    assert "`big.png` is 9000x9000 pixels (81 megapixels)" in caught.value.user_message
    assert "up to 64 megapixels" in caught.value.user_message


async def test_probe_refuses_a_decompression_bomb_stating_its_dimensions() -> None:
    """A header Pillow itself calls a decompression bomb still gets a message with the size."""
    with pytest.raises(InputError, match="20000x20000 pixels"):
        await probe(png_header(20000, 20000), filename="bomb.png")


async def test_probe_refuses_a_file_over_50_mb_without_decoding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over the input cap, the length alone refuses the file: Pillow is never called."""
    opened: list[object] = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a))
    data = png_header(100, 100) + bytes(INPUT_MAX_BYTES)
    expected = r"`huge\.png` is 50\.0 MB; Easel reads images up to 50 MB\."
    with pytest.raises(InputError, match=expected):
        await probe(data, filename="huge.png")
    assert opened == []


async def test_probe_decodes_in_a_media_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow runs in the media pool, never on the event loop's thread."""
    threads: list[str] = []
    real_open = Image.open

    def spy(*args: Any, **kwargs: Any) -> Image.Image:
        threads.append(threading.current_thread().name)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    await probe(encode(noise((8, 8)), "PNG"))
    assert threads
    assert all(name.startswith(THREAD_NAME_PREFIX) for name in threads)
