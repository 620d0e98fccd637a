"""A bad attachment is refused without anything public ever appearing in the channel.

What the attachment's metadata tells (empty, too large, not an image) is refused before the
interaction is acknowledged; what only the bytes tell (a text file named ``.png``) is read after
a private "thinking…", so the refusal stays between Easel and the member. The local Discord keeps
deleted messages, so "never appeared" includes a public "thinking…" deleted a moment later.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from local_discord import InteractionHandle, StoredMessage
from tests.e2e.conftest import Stack, final_embed, is_final, public_messages, wait_for_job_message

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CHANNEL_MESSAGE = 4
DEFERRED = 5
MODAL = 9
EPHEMERAL = 1 << 6
NOT_AN_IMAGE = b"these are my notes, not a picture\n" * 20


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (30, 160, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def private(message: Any) -> bool:
    return int((message or {}).get("flags") or 0) & EPHEMERAL != 0


async def private_answer(handle: InteractionHandle) -> str:
    """The one private answer the member got: at once, or after a private "thinking…"."""
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.data is not None and private(ack.data), "acknowledged publicly"
    if ack.type == CHANNEL_MESSAGE:
        return str(ack.data.get("content"))
    assert ack.type == DEFERRED

    def answered(h: InteractionHandle) -> bool:
        return any(m.ephemeral and m.content and not m.deleted for m in h.messages)

    await handle.wait_for(answered, timeout=10)
    [answer] = [m for m in handle.messages if m.ephemeral and m.content and not m.deleted]
    return answer.content


async def refused_privately(stack: Stack, send: Any) -> tuple[str, int]:
    """Run ``send()``; the member is told privately, nothing public appeared, nothing was spent.

    Returns the answer and the callback type (4: refused before acknowledging).
    """
    ld = stack.ld
    shown = [m.id for m in public_messages(ld, "#general")]
    upstream = len(stack.sandbox.requests)
    handle = await send()
    text = await private_answer(handle)
    ack = handle.ack
    assert ack is not None
    new = [m for m in public_messages(ld, "#general") if m.id not in shown]
    assert new == [], f"a public message appeared: {[(m.content, m.deleted) for m in new]}"
    assert len(stack.sandbox.requests) == upstream, "a refused attachment reached the image API"
    return text, ack.type


async def imagine_with(stack: Stack, name: str, data: bytes, content_type: str) -> Any:
    return await stack.ld.send_slash_command(
        "alice", "#general", "imagine", {"prompt": "a fox", "reference": (name, data, content_type)}
    )


async def edit_with(stack: Stack, name: str, data: bytes, content_type: str) -> Any:
    return await stack.ld.send_slash_command(
        "alice", "#general", "edit", {"prompt": "make it blue", "image": (name, data, content_type)}
    )


@pytest.mark.parametrize("command", [imagine_with, edit_with])
async def test_an_empty_file_is_refused_before_anything_is_acknowledged(
    stack: Stack, clean_log: None, command: Any
) -> None:
    text, ack = await refused_privately(
        stack, lambda: command(stack, "empty.png", b"", "image/png")
    )
    assert ack == CHANNEL_MESSAGE, "what the metadata tells is refused before deferring"
    assert "`empty.png` is empty" in text


@pytest.mark.parametrize("command", [imagine_with, edit_with])
async def test_a_file_that_is_not_an_image_is_refused_before_anything_is_acknowledged(
    stack: Stack, clean_log: None, command: Any
) -> None:
    text, ack = await refused_privately(
        stack, lambda: command(stack, "notes.txt", NOT_AN_IMAGE, "text/plain")
    )
    assert ack == CHANNEL_MESSAGE
    assert "`notes.txt` is not an image" in text


@pytest.mark.parametrize("command", [imagine_with, edit_with])
async def test_a_text_file_named_png_is_refused_privately_after_reading_it(
    stack: Stack, clean_log: None, command: Any
) -> None:
    text, _ = await refused_privately(
        stack, lambda: command(stack, "holiday.png", NOT_AN_IMAGE, "image/png")
    )
    assert "holiday.png" in text


@pytest.mark.parametrize(
    ("data", "refused_at_once"), [(NOT_AN_IMAGE, False), (b"", True)], ids=["text", "empty"]
)
async def test_edit_image_on_a_message_with_a_broken_picture_answers_privately(
    stack: Stack, clean_log: None, data: bytes, refused_at_once: bool
) -> None:
    ld = stack.ld
    posted = await ld.post_message(
        "alice", "#general", "look", attachments=[("broken.png", data, "image/png")]
    )
    menu = await ld.use_message_command("alice", "#general", "Edit image", posted)
    assert (await menu.wait_for_callback(timeout=5)).type == MODAL

    async def submit() -> InteractionHandle:
        return await ld.submit_modal(
            "alice", fields={"easel:edit:prompt": "make it night"}, after=menu
        )

    text, ack = await refused_privately(stack, submit)
    assert "broken.png" in text
    if refused_at_once:
        assert ack == CHANNEL_MESSAGE and "is empty" in text


async def test_a_good_reference_becomes_one_public_job_message(
    stack: Stack, clean_log: None
) -> None:
    ld = stack.ld
    shown = [m.id for m in public_messages(ld, "#general")]
    handle = await imagine_with(stack, "fox.png", png(), "image/png")
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.type == DEFERRED and private(ack.data), "images are checked privately first"
    final = await wait_for_job_message(handle, is_final, timeout=20)
    assert final_embed(final)["title"] == "✅ 1 image ready" and not final.ephemeral
    new: list[StoredMessage] = [m for m in public_messages(ld, "#general") if m.id not in shown]
    assert [m.id for m in new] == [final.id], "one public message: the job's"
    assert handle.original is not None and handle.original.deleted, "the private one is gone"
