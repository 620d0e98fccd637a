"""Editing as a member meets it: the real bot process, the local Discord and the ToAPIs sandbox.

``/edit`` with an uploaded mask, "Edit image" on a member's message with an area picked from the
menu (previewed before anything is spent), and a bad mask answered privately at no cost.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from local_discord import StoredMessage
from tests.e2e.conftest import Stack, final_embed, is_final, wait_for_job_message

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

DEFERRED = 5
MODAL = 9
EPHEMERAL = 1 << 6
BLUE = (20, 60, 200)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def left_half_white(size: tuple[int, int]) -> bytes:
    """A black-and-white mask without alpha: white (the left half) is repainted."""
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, size[0] // 2, size[1]))
    return png(mask)


def picture(stack: Stack, message: StoredMessage) -> Image.Image:
    [attachment] = message.attachments
    with Image.open(io.BytesIO(stack.ld.attachment_data(attachment))) as image:
        return image.convert("RGB")


def has_picker(message: StoredMessage) -> bool:
    return "easel:region:go" in message.custom_ids()


async def test_edit_with_an_uploaded_mask_repaints_only_the_masked_half(
    stack: Stack, clean_log: None
) -> None:
    ld, sandbox = stack.ld, stack.sandbox
    submits = sandbox.count("submit")
    handle = await ld.send_slash_command(
        "alice",
        "#general",
        "edit",
        {
            "prompt": "a fireplace on the left wall",
            "image": ("room.png", png(Image.new("RGB", (1536, 1024), BLUE)), "image/png"),
            "mask": ("mask.png", left_half_white((768, 512)), "image/png"),
        },
    )

    assert (await handle.wait_for_callback(timeout=3)).type == DEFERRED
    final = await wait_for_job_message(handle, is_final, timeout=20)
    assert final_embed(final)["title"] == "✅ 1 image ready"
    result = picture(stack, final)
    assert result.size == (1536, 1024)
    assert result.getpixel((1200, 500)) == BLUE  # kept
    assert result.getpixel((300, 700)) != BLUE  # repainted
    assert sandbox.count("submit") == submits + 1
    body = sandbox.requests_to("submit")[-1].body
    assert body["model"] == "gpt-image-2-official"
    assert len(body["image_urls"]) == 1 and body["mask_url"] and body["size"] == "auto"


async def test_edit_image_on_a_message_previews_the_area_then_repaints_it(
    stack: Stack, clean_log: None
) -> None:
    ld, sandbox = stack.ld, stack.sandbox
    posted = await ld.post_message(
        "alice",
        "#general",
        "my drawing",
        attachments=[("drawing.png", png(Image.new("RGB", (1024, 1024), BLUE)), "image/png")],
    )
    menu = await ld.use_message_command("alice", "#general", "Edit image", posted)
    assert (await menu.wait_for_callback(timeout=3)).type == MODAL
    upstream = len(sandbox.requests)

    submitted = await ld.submit_modal(
        "alice",
        fields={"easel:edit:prompt": "a full moon", "easel:edit:area": ["top"]},
        after=menu,
    )
    picker = await submitted.wait_for_original(has_picker, timeout=10)
    assert picker.ephemeral
    assert [a.filename for a in picker.attachments] == ["region_top.jpg"]
    assert "Top half" in picker.content
    assert len(sandbox.requests) == upstream, "the preview must cost nothing upstream"

    await ld.select("alice", picker, "easel:region:area", ["right"])
    await ld.wait_for(
        lambda _: [a.filename for a in picker.attachments] == ["region_right.jpg"], timeout=10
    )
    assert len(sandbox.requests) == upstream

    go = await ld.click_button("alice", picker, "easel:region:go")
    assert (await go.wait_for_callback(timeout=3)).type == DEFERRED
    final = await wait_for_job_message(go, is_final, timeout=20)
    assert not final.ephemeral
    assert final_embed(final)["title"] == "✅ 1 image ready"
    result = picture(stack, final)
    assert result.getpixel((200, 512)) == BLUE  # left half kept
    assert result.getpixel((800, 512)) != BLUE  # right half repainted
    await ld.wait_for(lambda _: not has_picker(picker), timeout=5)
    assert "Repainting" in picker.content


async def test_a_mask_of_the_wrong_shape_is_answered_privately_for_free(
    stack: Stack, clean_log: None
) -> None:
    ld, sandbox = stack.ld, stack.sandbox
    upstream = len(sandbox.requests)
    handle = await ld.send_slash_command(
        "alice",
        "#general",
        "edit",
        {
            "prompt": "x",
            "image": ("square.png", png(Image.new("RGB", (512, 512), BLUE)), "image/png"),
            "mask": ("wide.png", left_half_white((800, 400)), "image/png"),
        },
    )
    [reply] = await handle.wait_for_followups(timeout=10)
    assert reply.ephemeral
    assert "512x512" in reply.content and "wide.png" in reply.content
    assert len(sandbox.requests) == upstream
