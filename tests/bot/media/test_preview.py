"""Previews of streamed partial images: small JPEGs, made off the loop, None when unreadable."""

from __future__ import annotations

import io

from PIL import Image

from bot.media.preview import PREVIEW_MAX_SIDE, make_preview


def encoded(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 10, 10, 128) if mode == "RGBA" else (200, 10, 10)).save(
        out, format="PNG"
    )
    return out.getvalue()


async def test_a_large_partial_becomes_a_small_jpeg_with_its_shape() -> None:
    preview = await make_preview(encoded((1536, 1024)))
    assert preview is not None and preview.startswith(b"\xff\xd8")
    with Image.open(io.BytesIO(preview)) as image:
        assert image.size == (PREVIEW_MAX_SIDE, 341)
    assert len(preview) < 50_000


async def test_transparency_is_flattened_for_jpeg() -> None:
    preview = await make_preview(encoded((300, 300), "RGBA"))
    assert preview is not None
    with Image.open(io.BytesIO(preview)) as image:
        assert image.mode == "RGB" and image.size == (300, 300)


async def test_an_unreadable_partial_gives_no_preview() -> None:
    assert await make_preview(b"not an image") is None
