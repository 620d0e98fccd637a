"""InfinityBlue first, Starrise second, as a member meets them: the real bot and both emulators.

A mask job goes past InfinityBlue (it would ignore the mask) to Starrise; three images asked of
InfinityBlue (one per call) with two calls failing deliver one, say "2 of 3 images failed" and
count one image toward the member's day.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PIL import Image

from bot.sandbox.openai_server import OpenAISandbox
from tests.e2e.conftest import Stack, final_embed, is_final, running_stack, wait_for_job_message

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class World:
    stack: Stack
    blue: OpenAISandbox
    star: OpenAISandbox


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with (
        OpenAISandbox("infinityblue", api_key="test", call_duration=0.3) as blue,
        OpenAISandbox("starrise", api_key="test", call_duration=0.3) as star,
    ):
        env = {
            "IMAGE_PROVIDER": "infinityblue",
            "IMAGE_PROVIDERS": "infinityblue,starrise",
            "INFINITYBLUE_API_KEY": "test",
            "INFINITYBLUE_BASE_URL": blue.base_url,
            "STARRISE_API_KEY": "test",
            "STARRISE_BASE_URL": star.base_url,
        }
        async with running_stack(tmp_path_factory.mktemp("choice"), **env) as stack:
            yield World(stack, blue, star)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_a_mask_job_goes_past_infinityblue_to_starrise(world: World) -> None:
    ld, blue, star = world.stack.ld, world.blue, world.star
    mask = Image.new("RGBA", (512, 512), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 512))  # transparent left half: repaint it
    handle = await ld.send_slash_command(
        "alice",
        "#general",
        "edit",
        {
            "prompt": "a window on the left",
            "image": ("room.png", png(Image.new("RGB", (512, 512), "navy")), "image/png"),
            "mask": ("mask.png", png(mask), "image/png"),
        },
    )

    final = await wait_for_job_message(handle, is_final, timeout=30)
    embed = final_embed(final)
    assert embed["title"] == "✅ 1 image ready", embed
    assert "standing in for InfinityBlue" in embed["footer"]["text"]
    assert blue.count("edit") == 0, "InfinityBlue would have ignored the mask"
    (call,) = star.requests_to("edit")
    assert set(call.files) == {"image", "mask"}


async def test_two_of_three_failed_calls_deliver_one_image_say_so_and_count_one(
    world: World,
) -> None:
    ld, blue = world.stack.ld, world.blue
    (member,) = await ld.add_users(1)
    blue.add_fault("500", "generate", times=5)  # three calls, each retried once: two fail

    handle = await ld.send_slash_command(member, "#general", "imagine", {"prompt": "owls", "n": 3})

    final = await handle.wait_for_original(is_final, timeout=30)
    embed = final_embed(final)
    assert embed["title"] == "✅ 1 of 3 images ready", embed
    assert len(final.attachments) == 1
    shortfall = next(f["value"] for f in embed["fields"] if "Not every image" in f["name"])
    assert shortfall.startswith("2 of 3 images failed: ") and "HTTP 500" in shortfall
    usage = await ld.send_slash_command(member, "#general", "usage")
    await usage.wait_for_callback(timeout=3)
    report = (await usage.wait_for_followups(1, timeout=5))[0]
    assert "Made: 1 image" in str(report.embeds), report.embeds
