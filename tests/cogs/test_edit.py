"""/edit, /blend, the "Edit image" context menu, its modal and the region picker, through the real
CommandTree, the real engine and the sandbox over loopback. Every image is a real file."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from PIL import Image

from cogs._edit_modal import open_region_picker
from tests.bot.media import images
from tests.bot.media.images import bw_mask
from tests.cogs.conftest import Harness
from tests.support.discord_harness import (
    GUILD_ID,
    RecordedCall,
    attachment_payload,
    component_payload,
    custom_ids,
    dispatch,
    message_payload,
    slash_command_payload,
)
from tests.support.edit_interactions import (
    member_message,
    message_command_payload,
    modal_inputs,
    modal_submit_payload,
    shown_modal,
)

EPHEMERAL = 64
BLUE = (20, 60, 200)
ORANGE = (240, 140, 20)

Done = Callable[[list[RecordedCall]], bool]


def solid(size: tuple[int, int], colour: tuple[int, int, int] = BLUE, fmt: str = "PNG") -> bytes:
    return images.solid(size, colour, fmt)


def results(calls: list[RecordedCall]) -> list[RecordedCall]:
    """Message edits carrying Easel's result files."""
    return [
        call
        for call in calls
        if call.is_original_edit and any(name.startswith("easel_") for name, _ in call.files)
    ]


def has_result(calls: list[RecordedCall]) -> bool:
    return bool(results(calls))


def private_reply(calls: list[RecordedCall]) -> str | None:
    """The text of the first private answer (an ephemeral callback or follow-up), if any."""
    for call in calls:
        payload = call.payload or {}
        data = payload.get("data", payload) if call.is_callback else payload
        if call.flags & EPHEMERAL and isinstance(data, dict) and data.get("content"):
            return str(data["content"])
    return None


async def run(h: Harness, payload: dict[str, Any], done: Done = has_result) -> list[RecordedCall]:
    dispatch(h.bot, payload)
    await h.adapter.wait_for(done, 15)
    await asyncio.sleep(0.05)  # let the interaction's task finish its last await
    return h.adapter.calls


def attach(h: Harness, name: str, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
    return attachment_payload(name, h.cdn.add(name, data), len(data), content_type)


def command(name: str, options: dict[str, Any], files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A slash command; ``files`` maps attachment options to resolved attachments."""
    built = [
        {"name": key, "type": 4 if isinstance(value, int) else 3, "value": value}
        for key, value in options.items()
    ]
    built += [{"name": key, "type": 11, "value": file["id"]} for key, file in files.items()]
    return slash_command_payload(
        name, built, attachments={file["id"]: file for file in files.values()}
    )


def result_image(calls: list[RecordedCall]) -> Image.Image:
    _name, data = next(f for f in results(calls)[-1].files if f[0].startswith("easel_"))
    return Image.open(io.BytesIO(data)).convert("RGB")


def upload_names(h: Harness) -> list[str]:
    return [entry.body["filename"] for entry in h.sandbox.requests_to("upload")]


# ------------------------------------------------------------------ /edit


async def test_edit_with_a_mask_repaints_only_the_white_area(harness: Harness) -> None:
    files = {
        "image": attach(harness, "room.png", solid((1536, 1024))),
        "mask": attach(harness, "mask.png", bw_mask((768, 512), (0, 0, 384, 512))),  # half size
    }
    calls = await run(harness, command("edit", {"prompt": "a window on the left"}, files))

    first = calls[0]
    assert first.is_callback and first.payload is not None and first.payload["type"] == 5
    assert upload_names(harness) == ["room.png", "mask.png"]
    body = harness.sandbox.requests_to("submit")[0].body
    assert body["model"] == "gpt-image-2-official"
    assert body["size"] == "auto" and len(body["image_urls"]) == 1 and body["mask_url"]
    image = result_image(calls)
    assert image.size == (1536, 1024)
    assert image.getpixel((1200, 500)) == BLUE
    assert image.getpixel((200, 900)) != BLUE


async def test_edit_with_a_mask_of_another_shape_says_the_expected_size_and_spends_nothing(
    harness: Harness,
) -> None:
    files = {
        "image": attach(harness, "room.png", solid((1024, 1024))),
        "mask": attach(harness, "mask.png", bw_mask((800, 600), (0, 0, 100, 100))),
    }
    calls = await run(
        harness,
        command("edit", {"prompt": "fix it"}, files),
        done=lambda calls: private_reply(calls) is not None,
    )
    reply = private_reply(calls)
    assert reply is not None and "1024x1024" in reply and "mask.png" in reply
    assert len(harness.sandbox.requests) == 0


async def test_edit_refuses_a_non_image_before_deferring(harness: Harness) -> None:
    files = {"image": attach(harness, "notes.txt", b"hello", "text/plain")}
    calls = await run(
        harness, command("edit", {"prompt": "x"}, files), done=lambda calls: bool(calls)
    )
    assert calls[0].is_callback and calls[0].payload is not None
    assert calls[0].payload["type"] == 4 and "`notes.txt` is not an image" in str(calls[0].payload)
    assert len(harness.sandbox.requests) == 0


async def test_edit_converts_webp_and_sends_every_extra_image_in_order(harness: Harness) -> None:
    files = {
        "image": attach(harness, "base.webp", solid((300, 200), fmt="WEBP"), "image/webp"),
        "image2": attach(harness, "hat.jpg", solid((64, 64), ORANGE, "JPEG"), "image/jpeg"),
        "image3": attach(harness, "anim.gif", solid((64, 64), fmt="GIF"), "image/gif"),
    }
    await run(harness, command("edit", {"prompt": "put the hat on it", "quality": "high"}, files))
    assert upload_names(harness) == ["base.jpg", "hat.jpg", "anim.png"]  # lossy WebP: JPEG
    body = harness.sandbox.requests_to("submit")[0].body
    assert len(body["image_urls"]) == 3 and body["quality"] == "high"


async def test_edit_refuses_options_the_model_cannot_honour_privately(harness: Harness) -> None:
    files = {"image": attach(harness, "a.png", solid((64, 64)))}
    calls = await run(
        harness,
        command("edit", {"prompt": "x", "ratio": "1:1", "resolution": "4K"}, files),
        done=lambda calls: bool(calls),
    )
    assert calls[0].flags & EPHEMERAL and "1:1 is not available at 4K" in str(calls[0].payload)
    assert len(harness.sandbox.requests) == 0


# ------------------------------------------------------------------ /blend


async def test_blend_sends_every_image_with_a_default_prompt(harness: Harness) -> None:
    files = {
        "image1": attach(harness, "a.png", solid((64, 64))),
        "image2": attach(harness, "b.jpg", solid((64, 64), ORANGE, "JPEG"), "image/jpeg"),
        "image5": attach(harness, "c.png", solid((64, 64), (0, 200, 0))),
    }
    calls = await run(harness, command("blend", {"ratio": "1:1"}, files))
    body = harness.sandbox.requests_to("submit")[0].body
    assert len(body["image_urls"]) == 3 and "mask_url" not in body
    assert body["prompt"].startswith("Blend these images")
    assert result_image(calls).size == (1024, 1024)


async def test_blend_with_a_corrupt_image_is_answered_privately(harness: Harness) -> None:
    files = {
        "image1": attach(harness, "a.png", solid((64, 64))),
        "image2": attach(harness, "broken.png", b"\x89PNG\r\n\x1a\nbroken"),
    }
    calls = await run(
        harness,
        command("blend", {"prompt": "mix"}, files),
        done=lambda calls: private_reply(calls) is not None,
    )
    assert "broken.png" in (private_reply(calls) or "")
    assert harness.sandbox.count("upload") == 0 and harness.sandbox.count("submit") == 0


# ------------------------------------------------------------------ the context menu and modal


def shown(calls: list[RecordedCall]) -> bool:
    return any(call.is_callback and (call.payload or {}).get("type") == 9 for call in calls)


async def open_menu(h: Harness, message: dict[str, Any]) -> dict[str, Any]:
    await run(h, message_command_payload("Edit image", message), done=shown)
    return shown_modal(h.adapter.calls)


def two_image_message(h: Harness) -> dict[str, Any]:
    first, second = solid((300, 200)), solid((200, 300), ORANGE)
    return member_message(
        [
            ("first.png", h.cdn.add("first.png", first), len(first), "image/png"),
            ("notes.txt", h.cdn.add("notes.txt", b"hi"), 2, "text/plain"),
            ("second.png", h.cdn.add("second.png", second), len(second), "image/png"),
        ]
    )


async def test_the_context_menu_asks_for_the_prompt_the_image_and_an_optional_area(
    harness: Harness,
) -> None:
    modal = await open_menu(harness, two_image_message(harness))
    assert modal["title"] == "Edit image"
    inputs = modal_inputs(modal)
    assert inputs["easel:edit:prompt"]["type"] == 4
    images = inputs["easel:edit:image"]["options"]
    assert [o["label"] for o in images] == ["Image 1: first.png", "Image 2: second.png"]
    area = inputs["easel:edit:area"]
    assert area["min_values"] == 0 and len(area["options"]) == 15
    assert len(harness.sandbox.requests) == 0


async def test_submitting_the_modal_edits_the_chosen_image(harness: Harness) -> None:
    modal = await open_menu(harness, two_image_message(harness))
    values: dict[str, str | list[str]] = {
        "easel:edit:prompt": "make it night",
        "easel:edit:image": ["1"],
    }
    calls = await run(harness, modal_submit_payload(modal, values))
    assert upload_names(harness) == ["second.png"]
    body = harness.sandbox.requests_to("submit")[0].body
    assert body["model"] == "gpt-image-2-official" and "mask_url" not in body
    assert result_image(calls).size == (1024, 1536)  # auto follows the portrait image


async def test_the_context_menu_on_a_message_without_images_says_so(harness: Harness) -> None:
    message = member_message([])
    calls = await run(
        harness, message_command_payload("Edit image", message), done=lambda calls: bool(calls)
    )
    assert calls[0].flags & EPHEMERAL and "no image attached" in str(calls[0].payload)


async def test_an_empty_prompt_is_refused_privately(harness: Harness) -> None:
    modal = await open_menu(harness, two_image_message(harness))
    calls = await run(
        harness,
        modal_submit_payload(modal, {"easel:edit:prompt": "   "}),
        done=lambda calls: private_reply(calls) is not None,
    )
    assert "prompt is empty" in (private_reply(calls) or "")
    assert len(harness.sandbox.requests) == 0


# ------------------------------------------------------------------ region picker


def picker_shown(calls: list[RecordedCall]) -> bool:
    return any("easel:region:go" in custom_ids(call) for call in calls)


def picker_message(h: Harness, calls: list[RecordedCall]) -> dict[str, Any]:
    last = [call for call in calls if "easel:region:go" in custom_ids(call)][-1]
    message = message_payload(h.adapter.message_id, last.payload or {}, last.files)
    message["flags"] = EPHEMERAL
    return message


def posted_picture(harness: Harness, picture: bytes) -> dict[str, Any]:
    """A member's message with ``picture`` attached as pic.png."""
    url = harness.cdn.add("pic.png", picture)
    return member_message([("pic.png", url, len(picture), "image/png")])


async def pick_area(
    harness: Harness, message: dict[str, Any], prompt: str = "a hat", area: str = "top"
) -> list[RecordedCall]:
    """Use "Edit image" on ``message``: ``prompt`` on ``area``, until the area picker shows."""
    modal = await open_menu(harness, message)
    values: dict[str, str | list[str]] = {"easel:edit:prompt": prompt, "easel:edit:area": [area]}
    return await run(harness, modal_submit_payload(modal, values), done=picker_shown)


async def confirm_the_area(harness: Harness, calls: list[RecordedCall]) -> RecordedCall:
    """Press the picker's Go; its answer must be private and immediate (type 4)."""
    before = len(harness.adapter.calls)
    await run(
        harness,
        component_payload("easel:region:go", picker_message(harness, calls)),
        done=lambda c: len(c) > before,
    )
    await asyncio.sleep(0.1)
    answer = harness.adapter.calls[before]
    assert answer.is_callback and answer.payload is not None
    assert answer.payload["type"] == 4 and answer.flags & EPHEMERAL
    return answer


async def test_an_area_is_shown_on_a_preview_before_anything_is_spent(harness: Harness) -> None:
    calls = await pick_area(harness, posted_picture(harness, solid((1536, 1024))), "a moon")

    defer = next(call for call in calls if call.is_callback and call.payload["type"] == 5)  # type: ignore[index]
    assert defer.flags & EPHEMERAL
    shown_call = [call for call in calls if "easel:region:go" in custom_ids(call)][-1]
    [(name, data)] = shown_call.files
    assert name == "region_top.jpg"
    preview = Image.open(io.BytesIO(data))
    assert max(preview.size) == 512
    assert "Top half" in str(shown_call.payload) and "1536×1024" in str(shown_call.payload)
    assert len(harness.sandbox.requests) == 0  # nothing spent yet

    # Change the area: the preview is redrawn, still nothing spent.
    before = len(harness.adapter.calls)
    await run(
        harness,
        component_payload(
            "easel:region:area", picker_message(harness, calls), values=["right", "cell1"]
        ),
        done=lambda calls: len(calls) > before + 1 and picker_shown(calls[before:]),
    )
    redrawn = [c for c in harness.adapter.calls[before:] if "easel:region:go" in custom_ids(c)][-1]
    assert [name for name, _ in redrawn.files] == ["region_right_cell1.jpg"]
    assert len(harness.sandbox.requests) == 0

    # Confirm: the mask is built at the image's exact size and the edit runs.
    calls = await run(harness, component_payload("easel:region:go", picker_message(harness, calls)))
    body = harness.sandbox.requests_to("submit")[0].body
    assert body["mask_url"] and upload_names(harness) == ["pic.png", "region_mask.png"]
    image = result_image(calls)
    assert image.getpixel((300, 700)) == BLUE  # bottom left: kept
    assert image.getpixel((1300, 700)) != BLUE  # right half: repainted
    assert image.getpixel((100, 100)) != BLUE  # cell 1: repainted
    closing = [c for c in calls if c.is_original_edit and "Repainting" in str(c.payload)]
    assert closing and closing[-1].payload is not None
    assert closing[-1].payload.get("components") == []


async def test_cancel_spends_nothing(harness: Harness) -> None:
    calls = await pick_area(harness, posted_picture(harness, solid((400, 400))), "x", "border")
    calls = await run(
        harness,
        component_payload("easel:region:cancel", picker_message(harness, calls)),
        done=lambda calls: "Cancelled" in str(calls[-1].payload),
    )
    await asyncio.sleep(0.2)
    assert len(harness.sandbox.requests) == 0


async def test_the_context_menu_on_an_easel_result_records_the_parent_job(
    harness: Harness,
) -> None:
    files = {"image": attach(harness, "start.png", solid((1024, 1024)))}
    calls = await run(harness, command("edit", {"prompt": "first", "ratio": "1:1"}, files))
    name, data = results(calls)[-1].files[0]
    parent_id = name.split("_")[1]
    message = member_message(
        [(name, harness.cdn.add(name, data), len(data), "image/png")],
        author_id=harness.bot.user.id,  # type: ignore[union-attr]
        bot=True,
    )
    modal = await open_menu(harness, message)
    before = len(results(harness.adapter.calls))
    await run(
        harness,
        modal_submit_payload(modal, {"easel:edit:prompt": "second"}),
        done=lambda calls: len(results(calls)) > before,
    )
    submits = harness.sandbox.requests_to("submit")
    assert len(submits) == 2
    child_reference = submits[-1].body["client_business_id"].removeprefix("easel-")
    child = await harness.bot.engine.store.get(child_reference)
    assert child is not None and child.parent_id is not None
    assert child.parent_id.startswith(parent_id) and child.action == "edit"


async def test_open_region_picker_requires_an_area_for_a_results_image(harness: Harness) -> None:
    """The entry point the result buttons call, used here from a test-only command."""
    files = {"image": attach(harness, "start.png", solid((1024, 1024)))}
    calls = await run(harness, command("edit", {"prompt": "first", "ratio": "1:1"}, files))
    job_id = results(calls)[-1].files[0][0].split("_")[1]
    parent = result_image(calls)

    @app_commands.command(name="regiontest", description="test only")
    async def regiontest(interaction: Any) -> None:
        job = await harness.bot.engine.store.get(job_id)
        assert job is not None
        await open_region_picker(interaction, job, 0)

    harness.bot.tree.add_command(regiontest)
    await run(harness, slash_command_payload("regiontest", []), done=shown)
    modal = shown_modal(harness.adapter.calls)
    area = modal_inputs(modal)["easel:edit:area"]
    assert area["min_values"] == 1 and area.get("required") is True
    assert "easel:edit:image" not in modal_inputs(modal)
    values: dict[str, str | list[str]] = {
        "easel:edit:prompt": "a red door",
        "easel:edit:area": ["cell5"],
    }
    calls = await run(harness, modal_submit_payload(modal, values), done=picker_shown)
    before = harness.sandbox.count("submit")
    calls = await run(
        harness,
        component_payload("easel:region:go", picker_message(harness, calls)),
        done=lambda calls: harness.sandbox.count("submit") > before and len(results(calls)) > 1,
    )
    body = harness.sandbox.requests_to("submit")[-1].body
    assert body["mask_url"] and body["size"] == "auto"
    image = result_image(calls)
    assert image.getpixel((100, 100)) == parent.getpixel((100, 100))  # kept
    assert image.getpixel((512, 512)) != parent.getpixel((512, 512))  # cell 5: repainted


# ------------------------------------------------------------------ server rules


async def test_a_refused_edit_is_answered_at_once_privately_without_downloading(
    harness: Harness,
) -> None:
    await harness.bot.policy.add_term(GUILD_ID, "spooky", by=1)
    files = {"image": attach(harness, "room.png", solid((64, 64)))}
    calls = await run(
        harness, command("edit", {"prompt": "a spooky room"}, files), done=lambda c: bool(c)
    )
    await asyncio.sleep(0.1)
    assert len(calls) == 1 and calls[0].payload is not None
    assert calls[0].payload["type"] == 4 and calls[0].flags & EPHEMERAL
    assert "Blocked term" in str(calls[0].payload)
    assert len(harness.sandbox.requests) == 0


async def test_the_rules_are_checked_again_when_a_region_edit_is_confirmed(
    harness: Harness,
) -> None:
    calls = await pick_area(harness, posted_picture(harness, solid((400, 400))))
    await harness.bot.policy.update(GUILD_ID, by=1, member_daily_images=0)
    answer = await confirm_the_area(harness, calls)
    assert "daily limit" in str(answer.payload), answer.payload
    assert len(harness.sandbox.requests) == 0


# ------------------------------------------------------------------ command definitions


def test_edit_blend_and_the_context_menu_are_defined_as_discord_expects(harness: Harness) -> None:
    tree = harness.bot.tree
    edit = tree.get_command("edit")
    blend = tree.get_command("blend")
    menu = tree.get_command("Edit image", type=discord.AppCommandType.message)
    assert edit is not None and blend is not None and menu is not None
    edit_options = {o["name"]: o for o in edit.to_dict(tree)["options"]}
    assert [name for name, o in edit_options.items() if o.get("required")] == ["prompt", "image"]
    assert edit_options["ratio"]["choices"][0]["value"] == "auto"
    assert len(edit_options["ratio"]["choices"]) == 14
    assert "white" in edit_options["mask"]["description"]
    assert sum(o["type"] == 11 for o in edit_options.values()) == 11  # ten images and a mask
    blend_options = blend.to_dict(tree)["options"]
    assert [o["name"] for o in blend_options if o.get("required")] == ["image1", "image2"]
    assert sum(o["type"] == 11 for o in blend_options) == 16
    assert menu.to_dict(tree)["type"] == 3


async def test_a_result_deleted_while_its_area_is_picked_is_not_edited(harness: Harness) -> None:
    files = {"image": attach(harness, "start.png", solid((1024, 1024)))}
    calls = await run(harness, command("edit", {"prompt": "first", "ratio": "1:1"}, files))
    name, data = results(calls)[-1].files[0]
    message = member_message(
        [(name, harness.cdn.add(name, data), len(data), "image/png")],
        author_id=harness.bot.user.id,  # type: ignore[union-attr]
        bot=True,
    )
    calls = await pick_area(harness, message)
    parent = await harness.bot.engine.get_job(name.split("_")[1])
    assert parent is not None
    await harness.bot.engine.erase(parent, by=1)  # deleted while the picker is open
    submits = harness.sandbox.count("submit")
    answer = await confirm_the_area(harness, calls)
    assert "Deleted result" in str(answer.payload)
    assert harness.sandbox.count("submit") == submits
