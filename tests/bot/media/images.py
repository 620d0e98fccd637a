"""Real image files for the media tests, made with Pillow (noise where size must not compress)."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Random pixels: incompressible, so file sizes are predictable."""
    width, height = size
    return Image.frombytes(mode, size, os.urandom(width * height * len(mode)))


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """Save ``image`` in ``fmt`` to bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    """Open and fully decode bytes (raises if they are not a complete image)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def halves(size: tuple[int, int], left: tuple[int, ...], right: tuple[int, ...]) -> Image.Image:
    """An RGB image whose left half is ``left`` and right half ``right``."""
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but holds (almost) no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def animated_gif(colours: list[tuple[int, int, int]], size: tuple[int, int] = (32, 32)) -> bytes:
    """A GIF with one solid frame per colour."""
    frames = [Image.new("RGB", size, colour) for colour in colours]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    """A JPEG of ``image`` carrying the EXIF orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())


def png(size: tuple[int, int], colour: object = "teal", *, alpha: bool = False) -> bytes:
    """A PNG of one colour; with ``alpha``, fully transparent (a mask that repaints it all)."""
    image = Image.new("RGBA" if alpha else "RGB", size, (0, 0, 0, 0) if alpha else colour)
    return encode(image, "PNG")


def solid(size: tuple[int, int], colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    """An RGB image of one colour in ``fmt``."""
    return encode(Image.new("RGB", size, colour), fmt)


def bw_mask(size: tuple[int, int], white: tuple[int, int, int, int]) -> bytes:
    """A black-and-white mask without alpha: white (the box ``white``) marks what to repaint."""
    mask = Image.new("L", size, 0)
    mask.paste(255, white)
    return encode(mask, "PNG")


def size_of(data: bytes) -> tuple[int, int]:
    """Width and height of encoded image bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size
