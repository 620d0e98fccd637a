"""``/imagine`` as a member sees it, with the real bot process, one bot for the whole module."""

from __future__ import annotations

import asyncio
import io
import itertools

import aiohttp
import pytest
from PIL import Image

from bot.sandbox.server import Sandbox
from local_discord import Permission, RateLimitRule, StoredMessage
from tests.e2e.conftest import Stack, assert_never_pinged, dump, final_embed, is_final

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

DEFERRED = 5  # callback type: "Easel is thinking…"
CHANNEL_MESSAGE = 4
EPHEMERAL = 1 << 6
ACK_BUDGET = 1.0  # seconds; Discord allows 3
EDIT_INTERVAL = 2.0  # PROGRESS_EDIT_INTERVAL given to the bot
CLOCK_SLACK = 0.01  # the bot and the local Discord read the same monotonic clock
DELIVERY_BUDGET = 1.5  # seconds from task end to result: a 0.3 s poll, download, fit, upload


async def test_imagine_is_deferred_at_once_and_delivers_every_image_at_its_size(
    stack: Stack, clean_log: None
) -> None:
    ld, sandbox = stack.ld, stack.sandbox
    submits, downloads = sandbox.count("submit"), sandbox.count("download")

    handle = await ld.send_slash_command(
        "alice",
        "#general",
        "imagine",
        {"prompt": "a lighthouse at dusk", "ratio": "16:9", "resolution": "2K", "n": 2},
    )

    ack = await handle.wait_for_callback(timeout=3)
    assert ack.type == DEFERRED
    assert handle.ack_latency is not None and handle.ack_latency < ACK_BUDGET
    final = await handle.wait_for_original(is_final, timeout=15)
    assert not final.ephemeral
    assert final_embed(final)["title"] == "✅ 2 images ready"
    assert [(a.width, a.height) for a in final.attachments] == [(2048, 1152)] * 2
    for attachment in final.attachments:
        with Image.open(io.BytesIO(ld.attachment_data(attachment))) as image:
            assert (image.format, image.size) == ("PNG", (2048, 1152))
    assert "2048×1152" in str(final_embed(final)["fields"])
    assert sandbox.count("submit") == submits + 1
    assert sandbox.count("download") == downloads + 2


async def test_progress_edits_are_throttled_and_sent_only_when_something_changed(
    stack: Stack, sandbox_knobs: Sandbox, clean_log: None
) -> None:
    sandbox_knobs.faults.task_duration = 5.0  # long enough for several throttle slots

    handle = await stack.ld.send_slash_command("alice", None, "imagine", {"prompt": "slow tide"})

    final = await handle.wait_for_original(is_final, timeout=20)
    edits = [version for version in final.versions if version.kind == "edit"]
    progress, last = edits[:-1], edits[-1]
    assert len(progress) >= 2, dump(final)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(progress)]
    assert min(gaps) >= EDIT_INTERVAL - CLOCK_SLACK, f"edits too close: {gaps}"
    shown = [version.payload.get("embeds") for version in edits]
    repeats = [i for i in range(1, len(shown)) if shown[i] == shown[i - 1]]
    assert repeats == [], f"edits {repeats} repeated the previous embed"
    assert final_embed(final)["title"] == "✅ 1 image ready"
    # The result goes out at once, not at the next throttle slot: the sandbox shares this
    # process's monotonic clock, so its task's end is comparable with Discord's arrival times.
    task_done = stack.sandbox.requests_to("submit")[-1].at + 5.0
    assert last.at - stack.ld.clock.offset - task_done < DELIVERY_BUDGET


async def test_a_file_over_the_upload_limit_is_delivered_within_it_with_a_note(
    stack: Stack, clean_log: None
) -> None:
    limit = 150_000
    handle = await stack.ld.send_slash_command(
        "alice",
        None,
        "imagine",
        {"prompt": "a wide harbour", "ratio": "16:9", "resolution": "4K"},
        attachment_size_limit=limit,
    )

    final = await handle.wait_for_original(is_final, timeout=15)
    [attachment] = final.attachments
    assert attachment.size <= limit
    original = await fetch_last_result(stack.sandbox)
    assert len(original) > limit, "the upstream file should not have fitted as it was"
    embed = final_embed(final)
    assert embed["title"] == "✅ 1 image ready"
    notes = [f["value"] for f in embed.get("fields", []) if f["name"] == "Files"]
    assert notes and attachment.filename in notes[0], embed


async def test_an_input_error_is_answered_privately_without_any_upstream_request(
    stack: Stack, clean_log: None
) -> None:
    upstream_before = len(stack.sandbox.requests)

    handle = await stack.ld.send_slash_command(
        "alice", None, "imagine", {"prompt": "a square poster", "ratio": "1:1", "resolution": "4K"}
    )

    ack = await handle.wait_for_callback(timeout=3)
    assert handle.ack_latency is not None and handle.ack_latency < ACK_BUDGET
    assert ack.type == CHANNEL_MESSAGE
    assert ack.data is not None and ack.data.get("flags", 0) & EPHEMERAL
    reply = handle.original
    assert reply is not None and reply.ephemeral
    assert "4K" in reply.content and "1:1" in reply.content, reply.content
    await asyncio.sleep(0.5)  # anything the bot still meant to send upstream has gone by now
    assert len(stack.sandbox.requests) == upstream_before


async def test_mentions_in_a_prompt_never_ping_anyone(stack: Stack, clean_log: None) -> None:
    ld = stack.ld
    role = await ld.create_role("artists", mentionable=True)
    await ld.set_role_permissions(
        ld.bot_role, ld.bot_role.permissions | Permission.MENTION_EVERYONE
    )
    loud = f"@everyone @here <@&{role.id}> <@{ld.alice.id}>"

    done = await ld.send_slash_command("alice", None, "imagine", {"prompt": f"{loud} a choir"})
    # A modified client can send any text as a choice; the error message echoes it.
    refused = await ld.send_slash_command(
        "alice", None, "imagine", {"prompt": "x", "ratio": loud}, validate=False
    )

    final = await done.wait_for_original(is_final, timeout=15)
    description = final_embed(final)["description"]
    assert "@everyone" not in description and f"<@&{role.id}>" not in description
    await refused.wait_for_callback(timeout=3)
    assert refused.original is not None and "@" in refused.original.content
    for message in (final, refused.original):
        assert not message.mention_everyone
        assert message.mention_role_ids == [] and message.mention_user_ids == []
    # Every body the bot sent so far carries allowed_mentions with nothing allowed (the module
    # teardown checks the same once more for everything the other tests made it send).
    assert_never_pinged(ld)


async def test_concurrent_members_each_get_their_own_images(stack: Stack, clean_log: None) -> None:
    ld = stack.ld
    members = await ld.add_users(5, prefix="painter")

    handles = await asyncio.gather(
        *(
            ld.send_slash_command(member, None, "imagine", {"prompt": f"portrait number {i}"})
            for i, member in enumerate(members)
        )
    )

    finals = await asyncio.gather(
        *(handle.wait_for_original(is_final, timeout=20) for handle in handles)
    )
    for i, (member, handle, final) in enumerate(zip(members, handles, finals, strict=True)):
        assert handle.ack_latency is not None and handle.ack_latency < ACK_BUDGET
        embed = final_embed(final)
        assert embed["title"] == "✅ 1 image ready"
        assert f"portrait number {i}" in embed["description"]
        assert f"<@{member.id}>" in str(embed["fields"])
        assert len(final.attachments) == 1


async def test_upstream_hiccups_are_retried_and_the_job_still_delivers(
    stack: Stack, sandbox_knobs: Sandbox
) -> None:
    sandbox_knobs.add_fault("429", "submit", retry_after=0.2)
    sandbox_knobs.add_fault("503", "poll", times=2)
    sandbox_knobs.add_fault("html", "download")
    before = {kind: sandbox_knobs.count(kind) for kind in ("submit", "poll", "download")}

    handle = await stack.ld.send_slash_command("alice", None, "imagine", {"prompt": "storm"})

    final = await handle.wait_for_original(is_final, timeout=30)
    assert final_embed(final)["title"] == "✅ 1 image ready", final_embed(final)
    assert len(final.attachments) == 1
    assert sandbox_knobs.count("submit") - before["submit"] == 2  # the 429, then the real one
    assert sandbox_knobs.count("download") - before["download"] == 2
    assert sandbox_knobs.faults.rules == []  # every scripted fault was hit


@pytest.mark.parametrize(
    ("knob", "title"),
    [("fail_tasks", "❌ The image service failed"), ("safety_fail_tasks", "🚫 Refused")],
)
async def test_a_task_that_fails_upstream_ends_with_a_message_saying_why(
    stack: Stack, sandbox_knobs: Sandbox, clean_log: None, knob: str, title: str
) -> None:
    setattr(sandbox_knobs.faults, knob, 1)

    handle = await stack.ld.send_slash_command("alice", None, "imagine", {"prompt": "a cat"})

    final = await handle.wait_for_original(is_final, timeout=15)
    embed = final_embed(final)
    assert embed["title"] == title
    assert final.attachments == []
    assert "tsk_img_" in str(embed.get("fields")), "the task id helps support find the job"


async def test_hidden_edit_rate_limits_are_absorbed_and_the_result_still_arrives(
    stack: Stack, sandbox_knobs: Sandbox
) -> None:
    ld = stack.ld
    sandbox_knobs.faults.task_duration = 2.0
    hits = ld.rate_limit_hits
    ld.limits.message_edit = RateLimitRule(1, 2.5, headers=False)  # Discord's unannounced limits
    try:
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a queue"})
        final = await handle.wait_for_original(is_final, timeout=30)
    finally:
        ld.limits.message_edit = RateLimitRule(5, 5.0)
        ld.limiter.reset()
    stack.expected_rate_limit_hits += ld.rate_limit_hits - hits
    assert ld.rate_limit_hits > hits, "the test should have provoked at least one 429"
    assert final_embed(final)["title"] == "✅ 1 image ready"
    assert len(final.attachments) == 1


async def test_a_dead_interaction_token_still_delivers_through_the_channel(
    stack: Stack, sandbox_knobs: Sandbox
) -> None:
    ld = stack.ld
    sandbox_knobs.faults.task_duration = 2.0
    handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a late train"})
    await handle.wait_for_callback(timeout=3)

    ld.clock.advance(15 * 60 + 1)  # Discord now refuses the interaction token (50027)

    def shows_the_result(message: StoredMessage) -> bool:
        return (
            message.author.id == ld.bot_user.id
            and message.channel_id == ld.general.id
            and not message.ephemeral
            and not message.deleted
            and bool(message.attachments)
            and "a late train" in str(message.embeds)
        )

    delivered = await ld.wait_for_message(shows_the_result, timeout=15)
    assert final_embed(delivered)["title"] == "✅ 1 image ready"
    assert any(r.error_code == 50027 for r in ld.requests), "the token should have been refused"
    assert delivered.mention_user_ids == [] and not delivered.mention_everyone


async def fetch_last_result(sandbox: Sandbox) -> bytes:
    """The bytes of the last result file the bot downloaded, straight from the sandbox."""
    path = sandbox.requests_to("download")[-1].path
    async with aiohttp.ClientSession() as session, session.get(sandbox.base_url + path) as reply:
        reply.raise_for_status()
        return await reply.read()
