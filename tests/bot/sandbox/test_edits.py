"""The sandbox emulates the official channel's edits (seeds 000/002) and shows what it repainted."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.sandbox.placeholder import render_edit_placeholder
from bot.sandbox.server import Sandbox

SANDBOX_TASK_SECONDS = 0  # how long the sandbox takes over a task

AUTH = {"Authorization": "Bearer any-key"}
BLUE = (20, 60, 200)
ORANGE = (240, 140, 20)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def left_half_mask(size: tuple[int, int]) -> Image.Image:
    """Opaque everywhere but the left half (transparent: repaint)."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    return mask


async def upload(http: aiohttp.ClientSession, sb: Sandbox, data: bytes, name: str) -> str:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name)
    async with http.post(f"{sb.base_url}/v1/uploads/images", data=form) as response:
        body = await response.json()
        assert response.status == 200, body
        return str(body["data"]["url"])


async def submit(
    http: aiohttp.ClientSession, sb: Sandbox, **body: Any
) -> tuple[int, dict[str, Any]]:
    payload = {"model": "gpt-image-2-official", "prompt": "a red dragon", **body}
    async with http.post(f"{sb.base_url}/v1/images/generations", json=payload) as response:
        return response.status, await response.json()


async def result(http: aiohttp.ClientSession, sb: Sandbox, task_id: str) -> Image.Image:
    for _ in range(100):
        async with http.get(f"{sb.base_url}/v1/images/generations/{task_id}") as response:
            task = await response.json()
        if task["status"] == "completed":
            async with http.get(task["result"]["data"][0]["url"]) as response:
                image = Image.open(io.BytesIO(await response.read()))
                image.load()
                return image
        await asyncio.sleep(0.02)
    raise AssertionError(f"task never completed: {task}")


async def test_a_masked_edit_repaints_only_the_transparent_region(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    picture = await upload(http, sandbox, encode(Image.new("RGB", (1536, 1024), BLUE)), "a.png")
    mask = await upload(http, sandbox, encode(left_half_mask((1536, 1024))), "m.png")
    status, task = await submit(
        http, sandbox, image_urls=[picture], mask_url=mask, size="3:2", resolution="1K"
    )
    assert status == 200, task
    image = (await result(http, sandbox, task["id"])).convert("RGB")
    assert image.size == (1536, 1024)
    assert image.getpixel((1150, 500)) == BLUE  # kept exactly
    assert image.getpixel((1535, 0)) == BLUE  # no frame over kept pixels either
    assert image.getpixel((100, 900)) != BLUE  # repainted
    assert image.getpixel((384, 50)) != BLUE


async def test_auto_size_follows_the_first_images_shape(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    portrait = await upload(http, sandbox, encode(Image.new("RGB", (600, 900), BLUE)), "p.png")
    status, task = await submit(http, sandbox, image_urls=[portrait], size="auto")
    assert status == 200, task
    assert (await result(http, sandbox, task["id"])).size == (1024, 1536)


async def test_auto_keeps_a_wide_inputs_shape_and_its_kept_pixels_unsquashed(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A 16:9 photo edited with ``auto`` comes back 16:9 (the official channel has 16:9 at 1K)."""
    photo = Image.new("RGB", (1920, 1080), BLUE)
    photo.paste((0, 0, 0), (1350, 450, 1530, 630))  # a square in the kept right half
    picture = await upload(http, sandbox, encode(photo), "wide.png")
    mask = await upload(http, sandbox, encode(left_half_mask(photo.size)), "m.png")
    status, task = await submit(http, sandbox, image_urls=[picture], mask_url=mask, size="auto")
    assert status == 200, task
    image = (await result(http, sandbox, task["id"])).convert("RGB")
    assert image.size == (1536, 864)
    dark = image.crop((800, 0, 1536, 864)).convert("L").point(lambda v: 255 if v < 40 else 0)
    box = dark.getbbox()
    assert box is not None
    assert box[2] - box[0] == box[3] - box[1] == 144  # 180 px at 0.8: the same square
    assert image.getpixel((1500, 100)) == BLUE  # kept
    assert image.getpixel((100, 800)) != BLUE  # repainted


async def test_a_blend_shows_every_input(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    blue = await upload(http, sandbox, encode(Image.new("RGB", (64, 64), BLUE)), "b.png")
    orange = await upload(
        http, sandbox, encode(Image.new("RGB", (64, 64), ORANGE), "JPEG"), "o.jpg"
    )
    status, task = await submit(http, sandbox, image_urls=[blue, orange], size="1:1")
    assert status == 200, task
    image = (await result(http, sandbox, task["id"])).convert("RGB")
    left, right = image.getpixel((60, 980)), image.getpixel((980, 980))
    assert left[2] > left[0] and right[0] > right[2]  # blue-ish strip, then orange-ish


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"mask_url": "MASK"}, "mask_url requires image_urls"),
        ({"image_urls": ["IMAGE"], "mask_url": "SMALL_MASK"}, "size of the first image (64x64)"),
        ({"image_urls": ["IMAGE"], "mask_url": "OPAQUE_MASK"}, "alpha channel"),
        ({"image_urls": ["IMAGE"], "mask_url": "JPEG_MASK"}, "must be a PNG"),
        ({"image_urls": ["WEBP"]}, "image_urls[0] must be a PNG or JPG"),
        ({"image_urls": ["IMAGE"], "mask_url": "http://127.0.0.1:9/nothing"}, "mask_url could"),
        ({"reference_images": ["IMAGE"]}, "takes its images as image_urls"),
        ({"image_urls": ["IMAGE"] * 17}, "at most 16"),
        ({"model": "gpt-image-2", "image_urls": ["IMAGE"], "mask_url": "MASK"}, "not supported"),
        ({"model": "gpt-image-2", "size": "auto"}, "size auto is not supported by gpt-image-2"),
    ],
)
async def test_edits_are_checked_as_the_edit_page_says(
    sandbox: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any], fragment: str
) -> None:
    urls = {
        "IMAGE": await upload(http, sandbox, encode(Image.new("RGB", (64, 64), BLUE)), "i.png"),
        "MASK": await upload(http, sandbox, encode(left_half_mask((64, 64))), "m.png"),
        "SMALL_MASK": await upload(http, sandbox, encode(left_half_mask((32, 32))), "s.png"),
        "OPAQUE_MASK": await upload(
            http, sandbox, encode(Image.new("RGB", (64, 64), "white")), "o.png"
        ),
        "JPEG_MASK": await upload(
            http, sandbox, encode(Image.new("RGB", (64, 64)), "JPEG"), "j.jpg"
        ),
        "WEBP": await upload(http, sandbox, encode(Image.new("RGB", (64, 64)), "WEBP"), "w.webp"),
    }

    def swap(value: Any) -> Any:
        if isinstance(value, list):
            return [urls.get(item, item) for item in value]
        return urls.get(value, value)

    status, answer = await submit(http, sandbox, **{k: swap(v) for k, v in body.items()})
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_request"
    assert fragment in answer["error"]["message"]
    assert sandbox.stats().tasks == 0


def test_the_edit_placeholder_labels_a_border_ring_inside_the_ring() -> None:
    """The label goes where there is room in the region, never over the kept middle."""
    ring = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ring.paste((0, 0, 0, 255), (80, 80, 320, 320))
    data = render_edit_placeholder(
        400, 400, "frame it", [encode(Image.new("RGB", (400, 400), BLUE))], encode(ring)
    )
    image = Image.open(io.BytesIO(data)).convert("RGB")
    kept = {image.getpixel((x, y)) for x in range(85, 315, 5) for y in range(85, 315, 5)}
    assert kept == {BLUE}
    band = image.crop((0, 0, 400, 78))
    assert band.getchannel("R").getextrema()[1] >= 240  # white label text in the top band
