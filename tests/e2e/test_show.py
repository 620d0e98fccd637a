"""Showing and reusing stored jobs as members and would-be abusers try it: ``/show``, result
buttons and "Edit image" obey the server's rules, and a deleted result stays deleted.

The job id is no secret (it is in every button's custom id and in the moderation log), so every
path that reads a job by id must apply the same rules as a new job, privately refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from local_discord import Channel, InteractionHandle, StoredMessage, User
from tests.e2e.conftest import (
    CHANNEL_MESSAGE,
    DEFERRED,
    EPHEMERAL,
    Stack,
    admin,
    final_embed,
    is_final,
    public_messages,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def bob(stack: Stack) -> AsyncIterator[User]:
    """Another member; the server's rules are put back after each test."""
    ld = stack.ld
    user = next((u for u in ld.world.users.values() if u.username == "bob"), None)
    if user is None:
        user = ld.create_user("bob")
        await ld.add_member(user)
    yield user
    await admin(ld, "where", {"reset_channels": True, "nsfw_only": False})
    await admin(ld, "unban", {"member": user})
    await admin(ld, "terms remove", {"term": "lighthouse"})
    await admin(ld, "command", {"command": "imagine", "enabled": True})
    await admin(ld, "output", {"buttons": "requester", "spoilers": False})


async def alices_result(stack: Stack, prompt: str = "a lighthouse at dusk") -> StoredMessage:
    handle = await stack.ld.send_slash_command("alice", "#general", "imagine", {"prompt": prompt})
    assert (await handle.wait_for_callback(timeout=3)).type == DEFERRED
    final = await handle.wait_for_original(is_final, timeout=20)
    assert final_embed(final)["title"] == "✅ 1 image ready"
    return final


def job_id(result: StoredMessage) -> str:
    return next(c.split(":")[2] for c in result.custom_ids() if c.startswith("easel:reroll:"))


async def answer_of(handle: InteractionHandle) -> tuple[int, str]:
    """The callback type and the private text the member got (refusals are type 4)."""
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.data is not None and int(ack.data.get("flags") or 0) & EPHEMERAL, ack.data
    return ack.type, str(ack.data.get("content"))


async def show(
    stack: Stack, user: str | User, job: str, channel: Any = "#general"
) -> InteractionHandle:
    return await stack.ld.send_slash_command(user, channel, "show", {"job_id": job[:8]})


async def refused(stack: Stack, user: str | User, job: str, channel: Any = "#general") -> str:
    """``/show`` is refused at once, privately, with nothing public and nothing spent."""
    ld = stack.ld
    where = channel if channel is not None else "#general"
    shown = (
        len(public_messages(ld, where)) if not isinstance(where, Channel) or where.guild_id else 0
    )
    upstream = len(stack.sandbox.requests)
    kind, text = await answer_of(await show(stack, user, job, channel))
    assert kind == CHANNEL_MESSAGE, "refused at once, never deferred"
    if not isinstance(where, Channel) or where.guild_id:
        assert len(public_messages(ld, where)) == shown, "a refusal posted in the channel"
    assert len(stack.sandbox.requests) == upstream
    return text


async def shown_publicly(stack: Stack, user: str | User, job: str) -> StoredMessage:
    handle = await show(stack, user, job)
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.type == DEFERRED

    def posted(h: InteractionHandle) -> bool:
        return any(not m.ephemeral and m.attachments for m in h.messages)

    await handle.wait_for(posted, timeout=10)
    return next(m for m in handle.messages if not m.ephemeral and m.attachments)


async def test_a_deleted_result_stays_deleted_for_everyone(
    stack: Stack, clean_log: None, bob: User
) -> None:
    ld = stack.ld
    result = await alices_result(stack)
    job = job_id(result)
    await admin(ld, "output", {"buttons": "anyone"})
    copy = await shown_publicly(stack, bob, job)  # a copy from before the deletion
    assert (stack.tmp / "files" / job).is_dir()

    press = await ld.click_button("alice", result, f"easel:delete:{job}")
    await press.wait_for_callback(timeout=5)
    await ld.wait_for(lambda _: result.deleted, timeout=5)
    await ld.wait_for(lambda _: not (stack.tmp / "files" / job).exists(), timeout=5)

    for member in ("alice", bob):
        text = await refused(stack, member, job)
        assert "Deleted result" in text and "nobody can show or reuse" in text
    # The copy's buttons refuse too: nothing brings the result back.
    upstream = len(stack.sandbox.requests)
    kind, text = await answer_of(await ld.click_button(bob, copy, f"easel:reroll:{job}"))
    assert kind == CHANNEL_MESSAGE and "Deleted result" in text
    menu = await ld.use_message_command(bob, "#general", "Edit image", copy)
    kind, text = await answer_of(menu)
    assert kind == CHANNEL_MESSAGE and "Deleted result" in text
    assert len(stack.sandbox.requests) == upstream
    jobs = await ld.send_slash_command("alice", "#general", "jobs")
    await jobs.wait_for_callback(timeout=5)
    [listing] = await jobs.wait_for_followups(1, timeout=5)
    assert f"`{job[:8]}` 🗑️ deleted" in str(listing.embeds)


async def test_show_obeys_every_rule_a_new_job_obeys(
    stack: Stack, clean_log: None, bob: User
) -> None:
    ld = stack.ld
    job = job_id(await alices_result(stack))
    await admin(ld, "output", {"buttons": "anyone"})
    denied = await ld.create_channel("no-easel")
    await admin(ld, "channel", {"channel": denied, "rule": "deny"})
    assert "Channel rules" in await refused(stack, bob, job, denied)
    await admin(ld, "ban", {"member": bob})
    assert "Blocked member" in await refused(stack, bob, job)
    await admin(ld, "unban", {"member": bob})
    await admin(ld, "terms add", {"term": "lighthouse"})
    text = await refused(stack, bob, job)
    assert "Blocked term" in text and "lighthouse" not in text
    await admin(ld, "terms remove", {"term": "lighthouse"})
    await admin(ld, "command", {"command": "imagine", "enabled": False})
    assert "`/imagine` is turned off" in await refused(stack, bob, job)
    await admin(ld, "command", {"command": "imagine", "enabled": True})
    await admin(ld, "where", {"nsfw_only": True})
    assert "Age-restricted" in await refused(stack, bob, job)
    await admin(ld, "where", {"nsfw_only": False})

    await admin(ld, "output", {"spoilers": True})
    copy = await shown_publicly(stack, bob, job)
    assert all(a.filename.startswith("SPOILER_") for a in copy.attachments)


async def test_another_members_job_is_not_shown_where_the_server_does_not_allow_it(
    stack: Stack, clean_log: None, bob: User
) -> None:
    ld = stack.ld
    result = await alices_result(stack, "a quiet harbour")
    job = job_id(result)
    # This server keeps results to their requester (the default).
    text = await refused(stack, bob, job)
    assert "Someone else's result" in text and "Only <@" in text
    kind, text = await answer_of(await ld.click_button(bob, result, f"easel:vary:{job}"))
    assert kind == CHANNEL_MESSAGE and "Someone else's result" in text
    kind, text = await answer_of(
        await ld.use_message_command(bob, "#general", "Edit image", result)
    )
    assert kind == CHANNEL_MESSAGE and "Someone else's result" in text

    # Never in direct messages, never in another server, whatever the setting.
    await admin(ld, "output", {"buttons": "anyone"})
    text = await refused(stack, bob, job, ld.dm_channel(bob))
    assert "No such job" in text
    elsewhere = await ld.create_guild("Elsewhere", members=[bob])
    lobby = await ld.create_channel("lobby", guild=elsewhere)
    text = await refused(stack, bob, job, lobby)
    assert "No such job" in text and "harbour" not in text

    # Where the server allows it, anyone may show it again.
    copy = await shown_publicly(stack, bob, job)
    assert "a quiet harbour" in str(copy.embeds)


async def test_a_result_made_in_an_age_restricted_channel_is_shown_only_in_one(
    stack: Stack, clean_log: None, bob: User
) -> None:
    ld = stack.ld
    after_dark = await ld.create_channel("after-dark", nsfw=True)
    handle = await ld.send_slash_command("alice", after_dark, "imagine", {"prompt": "a night owl"})
    final = await handle.wait_for_original(is_final, timeout=20)
    job = job_id(final)
    text = await refused(stack, "alice", job)
    assert "age-restricted" in text
