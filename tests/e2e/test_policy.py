"""Community controls as members and admins meet them: the real bot, the local Discord, and the
upstream emulator, which must see no request for anything the server's rules refused."""

from __future__ import annotations

from typing import Any

import pytest

from local_discord import LocalDiscord, StoredMessage, User
from tests.e2e.conftest import (
    CHANNEL_MESSAGE,
    DEFERRED,
    EPHEMERAL,
    Stack,
    admin,
    final_embed,
    is_final,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


async def refused(stack: Stack, user: str | User, channel: Any, prompt: str, **options: Any) -> str:
    """A member's /imagine is answered at once, privately, and nothing reaches the image API."""
    upstream = len(stack.sandbox.requests)
    handle = await stack.ld.send_slash_command(
        user, channel, "imagine", {"prompt": prompt, **options}
    )
    ack = await handle.wait_for_callback(timeout=3)
    assert ack.type == CHANNEL_MESSAGE, "a refusal is answered at once, never deferred"
    assert ack.data is not None and int(ack.data.get("flags") or 0) & EPHEMERAL
    assert len(stack.sandbox.requests) == upstream, "a refused job reached the image API"
    return str(ack.data.get("content"))


async def delivered(stack: Stack, user: str | User, channel: Any, prompt: str) -> StoredMessage:
    handle = await stack.ld.send_slash_command(user, channel, "imagine", {"prompt": prompt})
    assert (await handle.wait_for_callback(timeout=3)).type == DEFERRED
    final = await handle.wait_for_original(is_final, timeout=15)
    assert final_embed(final)["title"] == "✅ 1 image ready"
    return final


async def new_member(ld: LocalDiscord, name: str) -> User:
    user = ld.create_user(name)
    await ld.add_member(user)
    return user


async def test_members_cannot_change_settings(stack: Stack, clean_log: None) -> None:
    handle = await stack.ld.send_slash_command(
        "alice", "#general", "easel", {"member_daily": 0}, subcommand="limits"
    )
    ack = await handle.wait_for_callback(timeout=3)
    assert ack.data is not None and int(ack.data.get("flags") or 0) & EPHEMERAL
    assert "Manage Server" in str(ack.data.get("content"))


async def test_a_member_over_quota_is_told_when_it_resets(stack: Stack, clean_log: None) -> None:
    ld = stack.ld
    bob = await new_member(ld, "bob")
    assert "Saved" in await admin(ld, "limits", {"member_daily": 1}, embeds=True)
    try:
        await delivered(stack, bob, "#general", "one fox")
        text = await refused(stack, bob, "#general", "a second fox")
        assert "Your daily limit" in text and "1 of your 1 image today" in text and ":R>" in text
        usage = await ld.send_slash_command(bob, "#general", "usage")
        await usage.wait_for_callback(timeout=3)
        report = (await usage.wait_for_followups(1, timeout=5))[0]
        assert "Made: 1 image" in str(report.embeds) and "left: 0" in str(report.embeds)
    finally:
        await admin(ld, "limits", {"member_daily": 0}, embeds=True)


async def test_a_member_in_the_wrong_channel_is_told_where_to_go(
    stack: Stack, clean_log: None
) -> None:
    ld = stack.ld
    art = await ld.create_channel("art")
    allowed = await admin(ld, "channel", {"channel": art, "rule": "allow"}, embeds=True)
    assert f"<#{art.id}>" in allowed
    try:
        text = await refused(stack, "alice", "#general", "a fox")
        assert "Channel rules" in text and f"<#{art.id}>" in text
        await delivered(stack, "alice", art, "a fox in the right place")
    finally:
        await admin(ld, "where", {"reset_channels": True}, embeds=True)


async def test_a_blocked_term_is_refused_and_logged_for_the_moderators(
    stack: Stack, clean_log: None
) -> None:
    ld = stack.ld
    modlog = await ld.create_channel("mod-log")
    await admin(ld, "modlog", {"channel": modlog}, embeds=True)
    assert "Blocked: `spooky`" in await admin(ld, "terms add", {"term": "spooky"}, embeds=True)
    try:
        text = await refused(stack, "alice", "#general", "a SP00KY house, @everyone look")
        assert "Blocked term" in text and "spooky" not in text.lower()

        def logged(message: StoredMessage) -> bool:
            return message.channel_id == modlog.id and "Blocked term" in str(message.embeds)

        entry = await ld.wait_for_message(logged, timeout=5)
        assert "matched blocked term: spooky" in str(entry.embeds)
        assert not entry.mention_everyone

        await delivered(stack, "alice", "#general", "a calm house")

        def job_logged(message: StoredMessage) -> bool:
            return message.channel_id == modlog.id and "Job delivered" in str(message.embeds)

        job = await ld.wait_for_message(job_logged, timeout=5)
        assert "a calm house" in str(job.embeds) and "discord.com/channels/" in str(job.embeds)
    finally:
        await admin(ld, "terms remove", {"term": "spooky"}, embeds=True)
        await admin(ld, "modlog", embeds=True)
