"""Result and progress buttons, /jobs and /show, through the real CommandTree."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.client import EaselBot
from bot.jobs.records import JobState
from tests.cogs.conftest import Harness
from tests.cogs.policy_support import as_member
from tests.support.discord_harness import (
    GUILD_ID,
    USER_ID,
    RecordedCall,
    component_payload,
    custom_ids,
    dispatch,
    message_payload,
    prepare_bot,
    slash_command_payload,
)
from tests.support.edit_interactions import modal_submit_payload, shown_modal

OTHER_USER = USER_ID + 1
EPHEMERAL = 64


def imagine(prompt: str, **options: Any) -> dict[str, Any]:
    opts = [{"name": "prompt", "type": 3, "value": prompt}]
    opts += [
        {"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in options.items()
    ]
    return slash_command_payload("imagine", opts)


def finals(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [c for c in calls if c.is_original_edit and c.files]


async def finished_job(h: Harness, **options: Any) -> tuple[str, RecordedCall]:
    """Run /imagine to the end; return the job id and the final message edit."""
    before = len(finals(h.adapter.calls))
    dispatch(h.bot, imagine("a red kite over dunes", **options))
    await h.adapter.wait_for(lambda calls: len(finals(calls)) > before, 15)
    final = finals(h.adapter.calls)[-1]
    job_id = next(cid.split(":")[2] for cid in custom_ids(final) if cid.startswith("easel:reroll:"))
    job = await h.bot.engine.store.get(job_id)
    assert job is not None
    await wait_state(h, job_id, JobState.DELIVERED)
    return job_id, final


async def wait_state(h: Harness, job_id: str, state: JobState) -> None:
    async with asyncio.timeout(10):
        while (job := await h.bot.engine.store.get(job_id)) is None or job.state is not state:
            await asyncio.sleep(0.02)


def message_of(call: RecordedCall) -> dict[str, Any]:
    return message_payload(1234, call.payload or {}, call.files)


async def press(h: Harness, custom_id: str, final: RecordedCall, **kw: Any) -> None:
    dispatch(h.bot, component_payload(custom_id, message_of(final), **kw))


async def test_a_finished_single_image_has_every_result_button(harness: Harness) -> None:
    job_id, final = await finished_job(harness)
    assert custom_ids(final) == [
        f"easel:reroll:{job_id}",
        f"easel:vary:{job_id}",
        f"easel:upscale:{job_id}",
        f"easel:edit:{job_id}",
        f"easel:delete:{job_id}",
    ]


async def test_several_images_get_pickers_for_vary_upscale_and_edit(harness: Harness) -> None:
    job_id, final = await finished_job(harness, n=3)
    ids = custom_ids(final)
    assert f"easel:pick:vary:{job_id}" in ids and f"easel:pick:edit:{job_id}" in ids


async def test_progress_shows_a_cancel_button(harness: Harness) -> None:
    await finished_job(harness)
    progress = [c for c in harness.adapter.calls if c.is_original_edit and not c.files]
    assert progress and all(
        any(i.startswith("easel:cancel:") for i in custom_ids(c)) for c in progress
    )


async def test_reroll_works_on_a_freshly_started_bot_and_submits_again(harness: Harness) -> None:
    job_id, final = await finished_job(harness)
    # A new bot process: no views in memory, only the dynamic items and the store.
    fresh = EaselBot(harness.bot.settings, engine=harness.bot.engine, policy=harness.bot.policy)
    await prepare_bot(fresh)
    fresh.http.request = harness.bot_http.request  # type: ignore[method-assign]
    fresh.http._HTTPClient__session = harness.bot.http._HTTPClient__session  # type: ignore[attr-defined]
    await fresh.setup_hook()
    submits = harness.sandbox.count("submit")
    calls = len(harness.adapter.calls)
    dispatch(fresh, component_payload(f"easel:reroll:{job_id}", message_of(final)))
    await harness.adapter.wait_for(lambda c: len(finals(c)) >= 2, 15)
    new_calls = harness.adapter.calls[calls:]
    assert new_calls[0].is_callback and new_calls[0].payload and new_calls[0].payload["type"] == 5
    assert harness.sandbox.count("submit") == submits + 1
    body = harness.sandbox.requests_to("submit")[-1].body
    assert body["prompt"] == "a red kite over dunes"


async def test_someone_else_pressing_gets_a_private_answer_and_nothing_is_spent(
    harness: Harness,
) -> None:
    job_id, final = await finished_job(harness)
    submits = harness.sandbox.count("submit")
    await press(harness, f"easel:vary:{job_id}", final, user_id=OTHER_USER)
    await harness.adapter.wait_for(lambda c: c[-1].is_callback and bool(c[-1].flags & EPHEMERAL))
    assert "Only <@" in str(harness.adapter.calls[-1].payload)
    assert harness.sandbox.count("submit") == submits


async def test_vary_sends_the_chosen_image_as_a_reference(harness: Harness) -> None:
    job_id, final = await finished_job(harness, n=2)
    await press(harness, f"easel:pick:vary:{job_id}", final, values=["1"])
    await harness.adapter.wait_for(lambda c: len(finals(c)) >= 2, 15)
    assert harness.sandbox.count("upload") == 1
    assert len(harness.sandbox.requests_to("submit")[-1].body["reference_images"]) == 1


async def test_upscale_asks_for_the_next_tier(harness: Harness) -> None:
    job_id, final = await finished_job(harness)
    await press(harness, f"easel:upscale:{job_id}", final)
    await harness.adapter.wait_for(lambda c: len(finals(c)) >= 2, 15)
    body = harness.sandbox.requests_to("submit")[-1].body
    assert (body["resolution"], body["n"]) == ("2K", 1)


async def test_edit_opens_the_edit_modal_and_its_submit_edits_the_result(harness: Harness) -> None:
    job_id, final = await finished_job(harness)
    await press(harness, f"easel:edit:{job_id}", final)
    await harness.adapter.wait_for(
        lambda c: c[-1].is_callback and (c[-1].payload or {}).get("type") == 9
    )
    modal = shown_modal(harness.adapter.calls)
    dispatch(harness.bot, modal_submit_payload(modal, {"easel:edit:prompt": "make it night"}))
    await harness.adapter.wait_for(lambda c: len(finals(c)) >= 2, 15)
    body = harness.sandbox.requests_to("submit")[-1].body
    assert body["prompt"] == "make it night"
    assert body["model"] == "gpt-image-2-official" and len(body["image_urls"]) == 1
    child = (await harness.bot.engine.store.recent_for_user(USER_ID, limit=1))[0]
    assert (child.parent_id, child.action) == (job_id, "edit")


async def test_the_requester_can_cancel_a_running_job(harness: Harness) -> None:
    harness.sandbox.faults.task_duration = 30
    dispatch(harness.bot, imagine("a slow one"))
    await harness.adapter.wait_for(
        lambda c: any(i.startswith("easel:cancel:") for x in c for i in custom_ids(x))
    )
    progress = next(
        c
        for c in harness.adapter.calls
        if any(i.startswith("easel:cancel:") for i in custom_ids(c))
    )
    cancel_id = next(i for i in custom_ids(progress) if i.startswith("easel:cancel:"))
    await press(harness, cancel_id, progress, user_id=OTHER_USER)
    await harness.adapter.wait_for(lambda c: "Only <@" in str(c[-1].payload))
    await press(harness, cancel_id, progress)
    await harness.adapter.wait_for(
        lambda c: any("Cancelled" in str(x.payload) for x in c if x.is_original_edit)
    )
    job = await harness.bot.engine.store.get(cancel_id.split(":")[2])
    assert job is not None and job.state is JobState.CANCELLED and job.notified


async def test_delete_is_for_the_requester_or_message_managers(harness: Harness) -> None:
    job_id, final = await finished_job(harness)
    await press(harness, f"easel:delete:{job_id}", final, user_id=OTHER_USER)
    await harness.adapter.wait_for(lambda c: "manage messages" in str(c[-1].payload))
    assert not [call for call in harness.bot_http.calls if call[0] == "DELETE"]
    await press(harness, f"easel:delete:{job_id}", final, user_id=OTHER_USER, manage_messages=True)
    async with asyncio.timeout(5):
        while not [call for call in harness.bot_http.calls if call[0] == "DELETE"]:
            await asyncio.sleep(0.02)


async def test_jobs_lists_the_members_jobs_privately(harness: Harness) -> None:
    job_id, _ = await finished_job(harness)
    dispatch(harness.bot, slash_command_payload("jobs", []))
    await harness.adapter.wait_for(lambda c: any("Your recent jobs" in str(x.payload) for x in c))
    listing = next(x for x in harness.adapter.calls if "Your recent jobs" in str(x.payload))
    assert f"`{job_id[:8]}`" in str(listing.payload)
    deferral = [x for x in harness.adapter.calls if x.is_callback][-1]
    assert deferral.flags & EPHEMERAL  # the deferral fixed the listing as private


async def test_show_reposts_the_images_with_buttons(harness: Harness) -> None:
    job_id, _ = await finished_job(harness)
    submits = harness.sandbox.count("submit")
    dispatch(
        harness.bot,
        slash_command_payload("show", [{"name": "job_id", "type": 3, "value": job_id[:8]}]),
    )
    await harness.adapter.wait_for(lambda c: c[-1].method == "POST" and bool(c[-1].files))
    repost = harness.adapter.calls[-1]
    assert f"easel:reroll:{job_id}" in custom_ids(repost)
    assert harness.sandbox.count("submit") == submits


async def test_show_refuses_an_unknown_job(harness: Harness) -> None:
    dispatch(
        harness.bot,
        slash_command_payload("show", [{"name": "job_id", "type": 3, "value": "ffffffff"}]),
    )
    await harness.adapter.wait_for(lambda c: bool(c) and "No such job" in str(c[-1].payload))


def show(job_id: str, **kw: Any) -> dict[str, Any]:
    return slash_command_payload("show", [{"name": "job_id", "type": 3, "value": job_id[:8]}], **kw)


async def private_answer(h: Harness, payload: dict[str, Any]) -> str:
    """Dispatch; the first answer is a private message at once (type 4); return its text."""
    before = len(h.adapter.calls)
    dispatch(h.bot, payload)
    await h.adapter.wait_for(lambda c: len(c) > before)
    await asyncio.sleep(0.05)
    answer = h.adapter.calls[before]
    assert answer.is_callback and answer.payload is not None and answer.payload["type"] == 4
    assert answer.flags & EPHEMERAL
    assert len(h.adapter.calls) == before + 1, "a refusal is one private message"
    return str(answer.payload["data"]["content"])


async def test_delete_erases_the_result_and_nothing_brings_it_back(harness: Harness) -> None:
    job_id, final = await finished_job(harness)
    await press(harness, f"easel:delete:{job_id}", final)
    async with asyncio.timeout(5):
        while not [call for call in harness.bot_http.calls if call[0] == "DELETE"]:
            await asyncio.sleep(0.02)
    job = await harness.bot.engine.store.get(job_id)
    assert job is not None and job.deleted and job.results == []
    submits = harness.sandbox.count("submit")
    assert "Deleted result" in await private_answer(harness, show(job_id))
    assert "Deleted result" in await private_answer(
        harness, component_payload(f"easel:reroll:{job_id}", message_of(final))
    )
    assert harness.sandbox.count("submit") == submits
    dispatch(harness.bot, slash_command_payload("jobs", []))
    await harness.adapter.wait_for(lambda c: "Your recent jobs" in str(c[-1].payload))
    listing = str(harness.adapter.calls[-1].payload)
    assert f"`{job_id[:8]}` 🗑️ deleted" in listing and "discord.com/channels" not in listing


async def test_show_of_another_members_result_is_refused_privately(harness: Harness) -> None:
    job_id, _ = await finished_job(harness)
    text = await private_answer(harness, as_member(show(job_id, user_id=OTHER_USER)))
    assert "Someone else's result" in text and f"<@{USER_ID}>" in text


async def test_show_posts_the_images_as_spoilers_where_the_server_says(harness: Harness) -> None:
    job_id, _ = await finished_job(harness)
    await harness.bot.policy.update(GUILD_ID, by=1, spoilers=True)
    dispatch(harness.bot, show(job_id))
    await harness.adapter.wait_for(lambda c: c[-1].method == "POST" and bool(c[-1].files))
    repost = harness.adapter.calls[-1]
    assert repost.files and all(name.startswith("SPOILER_") for name, _ in repost.files)
    assert not repost.flags & EPHEMERAL
    deferral = [call for call in harness.adapter.calls if call.is_callback][-1]
    assert deferral.flags & EPHEMERAL, "the images are read before anything public"
