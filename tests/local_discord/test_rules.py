"""Discord's rules as the bot meets them: limits, permissions, unknown objects, rate limits."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from local_discord import LocalDiscord, Permission, RateLimitRule
from tests.local_discord.conftest import OpenGeneral, pong_bot


def _files(n: int, size: int = 8) -> list[discord.File]:
    return [discord.File(io.BytesIO(b"x" * size), filename=f"f{i}.bin") for i in range(n)]


async def _raw(
    ld: LocalDiscord, method: str, path: str, *, auth: bool = True, **kwargs: Any
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bot {ld.bot_token}"} if auth else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, ld.api_base + path, headers=headers, **kwargs) as resp,
    ):
        body = await resp.read()
        data = json.loads(body) if resp.content_type == "application/json" else body
        return resp.status, data, dict(resp.headers)


async def test_more_than_ten_files_are_rejected(ld: LocalDiscord, general: OpenGeneral) -> None:
    """11 attachments: 400 / 50035, whether sent raw or by discord.py growing an edit."""
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"content": "too many"}))
    for i in range(11):
        form.add_field(f"files[{i}]", b"x", filename=f"f{i}.bin")
    status, data, _ = await _raw(ld, "POST", f"/channels/{ld.general.id}/messages", data=form)
    assert (status, data["code"]) == (400, 50035)
    assert "attachments" in data["errors"]

    async with general() as channel:
        message = await channel.send("ten", files=_files(10))
        assert len(message.attachments) == 10
        with pytest.raises(discord.HTTPException) as info:
            await message.edit(attachments=[*message.attachments, *_files(1)])
    assert (info.value.status, info.value.code) == (400, 50035)
    assert len(ld.messages[message.id].attachments) == 10


async def test_file_over_the_interaction_limit_is_413(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Each file must fit the interaction's ``attachment_size_limit``: else 413 / 40005."""
    bot = bot_factory()
    errors: list[tuple[int, int]] = []
    limits: list[int] = []

    @bot.tree.command(name="big", description="Big")
    async def big(interaction: discord.Interaction) -> None:
        limits.append(interaction.filesize_limit)
        await interaction.response.defer()
        try:
            await interaction.followup.send(file=_files(1, size=interaction.filesize_limit + 1)[0])
        except discord.HTTPException as exc:
            errors.append((exc.status, exc.code))
        await interaction.followup.send(file=_files(1, size=interaction.filesize_limit)[0])

    async with run_bot(bot):
        handle = await ld.send_slash_command(
            ld.alice, ld.general, "big", attachment_size_limit=2048
        )
        await handle.wait_for_followups()
    assert limits == [2048] and errors == [(413, 40005)]
    assert handle.followups[0].attachments[0].size == 2048


async def test_channel_uploads_are_limited_too(ld: LocalDiscord, general: OpenGeneral) -> None:
    """Bot-token uploads use the channel limit (10 MiB by default; shrunk here)."""
    ld.channel_upload_limit = 1000
    async with general() as channel:
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(file=_files(1, size=1001)[0])
        ok = await channel.send(file=_files(1, size=1000)[0])
    assert (info.value.status, info.value.code) == (413, 40005)
    assert ok.attachments[0].size == 1000


async def test_content_embed_and_empty_message_limits(
    ld: LocalDiscord, general: OpenGeneral
) -> None:
    """2000 chars, embed field limits, the 6000 total, and no empty messages."""
    async with general() as channel:
        await channel.send("x" * 2000)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        with pytest.raises(discord.HTTPException) as long_title:
            await channel.send(embed=discord.Embed(title="t" * 257))
        huge = discord.Embed(description="d" * 4096)
        for i in range(3):
            huge.add_field(name=f"f{i}", value="v" * 1000)
        with pytest.raises(discord.HTTPException) as too_big:
            await channel.send(embed=huge)
        with pytest.raises(discord.HTTPException) as empty:
            await channel.send()
    assert (too_long.value.code, too_long.value.status) == (50035, 400)
    assert "content" in too_long.value.text and "2000 or fewer" in too_long.value.text
    assert long_title.value.code == 50035 and "embeds.0.title" in long_title.value.text
    assert too_big.value.code == 50035 and "6000" in too_big.value.text
    assert empty.value.code == 50006


async def test_unknown_message_is_10008(ld: LocalDiscord, general: OpenGeneral) -> None:
    """Fetching, editing or deleting a message that is not there: 404 / 10008."""
    async with general() as channel:
        with pytest.raises(discord.NotFound) as fetched:
            await channel.fetch_message(1234567890123)
        sent = await channel.send("bye")
        await sent.delete()
        with pytest.raises(discord.NotFound) as edited:
            await sent.edit(content="again")
    assert fetched.value.code == edited.value.code == 10008
    assert ld.messages[sent.id].deleted
    assert [v.kind for v in ld.messages[sent.id].versions] == ["create", "delete"]


async def test_revoked_permissions_are_enforced(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """SEND_MESSAGES / ATTACH_FILES / EMBED_LINKS revoked: 403 / 50013; no VIEW: 50001."""
    bot = pong_bot(bot_factory())
    async with run_bot(bot):
        channel = bot.get_channel(ld.general.id)
        assert isinstance(channel, discord.TextChannel)
        await ld.deny(ld.general, "attach_files", "embed_links")
        await channel.send("text still works")
        with pytest.raises(discord.Forbidden) as no_files:
            await channel.send(file=_files(1)[0])
        with pytest.raises(discord.Forbidden) as no_embeds:
            await channel.send(embed=discord.Embed(title="x"))
        await ld.deny(ld.general, "send_messages")
        with pytest.raises(discord.Forbidden) as no_send:
            await channel.send("nope")
        # Interaction responses do not need channel permissions, and report them.
        handle = await ld.send_slash_command(ld.alice, ld.general, "ping")
        await handle.wait_for_callback()
        assert not int(handle.payload["app_permissions"]) & Permission.SEND_MESSAGES
        # discord.py's cache follows the CHANNEL_UPDATE the fake sent.
        me = channel.guild.me
        await asyncio.wait_for(_until(lambda: not channel.permissions_for(me).send_messages), 5)
        await ld.set_overwrite(ld.general, ld.bot_user, deny=Permission.VIEW_CHANNEL)
        with pytest.raises(discord.Forbidden) as no_view:
            await channel.send("hidden")
    assert no_files.value.code == no_embeds.value.code == no_send.value.code == 50013
    assert no_view.value.code == 50001
    assert handle.original is not None and handle.original.content == "pong"


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0)


def with_progress(bot: commands.Bot) -> commands.Bot:
    """``bot`` with ``/progress``: defers, then edits its answer five times (0% to 100%)."""

    @bot.tree.command(name="progress", description="Progress")
    async def progress(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        for pct in range(0, 101, 25):
            await interaction.edit_original_response(content=f"{pct}%")

    return bot


async def test_rapid_edits_get_429_and_discord_py_retries(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """A hidden 2-per-0.5 s edit limit: 429s are answered, discord.py waits, every edit lands."""
    ld.limits.message_edit = RateLimitRule(2, 0.5, headers=False)
    bot = with_progress(bot_factory())
    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "progress")
        await handle.wait_for_original(lambda m: m.content == "100%", timeout=10)
        channel = bot.get_channel(ld.general.id)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("edit me")
        for i in range(4):
            await message.edit(content=f"v{i}")
    webhook_patches = ld.requests_to(
        "/webhooks/{application_id}/{token}/messages/{message_id}", "PATCH"
    )
    assert [r.status for r in webhook_patches].count(200) == 5
    assert any(r.status == 429 for r in webhook_patches)
    channel_patches = ld.requests_to("/channels/{channel_id}/messages/{message_id}", "PATCH")
    assert [r.status for r in channel_patches].count(200) == 4
    assert any(r.status == 429 for r in channel_patches)
    assert ld.rate_limit_hits == sum(r.status == 429 for r in ld.requests)
    assert [v.payload["content"] for v in ld.messages[message.id].edits] == ["v0", "v1", "v2", "v3"]


async def test_advertised_limits_let_discord_py_pace_itself(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """With X-RateLimit-* headers discord.py waits before the bucket empties: no 429 at all."""
    ld.limits.message_edit = RateLimitRule(2, 0.3, headers=True)
    bot = with_progress(bot_factory())
    async with run_bot(bot):
        started = time.monotonic()
        handle = await ld.send_slash_command(ld.alice, ld.general, "progress")
        await handle.wait_for_original(lambda m: m.content == "100%", timeout=10)
        elapsed = time.monotonic() - started
    assert ld.rate_limit_hits == 0
    assert elapsed >= 0.5  # five edits at two per 0.3 s need two waits


async def test_429_has_discords_body_and_headers(ld: LocalDiscord) -> None:
    """A 429 has retry_after, global, Retry-After, X-RateLimit-*, ``Via`` (discord.py wants it)."""
    ld.limits.message_edit = RateLimitRule(1, 10.0)
    message = await ld.post_message(ld.bot_user, ld.general, "hi")
    path = f"/channels/{ld.general.id}/messages/{message.id}"
    first = await _raw(ld, "PATCH", path, json={"content": "a"})
    status, body, headers = await _raw(ld, "PATCH", path, json={"content": "b"})
    assert first[0] == 200 and first[2]["X-RateLimit-Remaining"] == "0"
    assert first[2]["X-RateLimit-Limit"] == "1"
    assert status == 429
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 9 < body["retry_after"] <= 10
    assert headers["Retry-After"] == "10" and headers["Via"]
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Scope"] == "user"
    assert headers["Content-Type"] == "application/json"
    assert ld.rate_limit_hits == 1


async def test_auth_and_unknown_routes_answer_like_discord(ld: LocalDiscord) -> None:
    """No token: 401 (code 0); unknown route: 404 JSON; webhooks need no bot token."""
    status, body, _ = await _raw(ld, "GET", "/users/@me", auth=False)
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    status, body, _ = await _raw(ld, "GET", "/nope")
    assert status == 404 and body["code"] == 0
    status, body, _ = await _raw(
        ld, "POST", f"/webhooks/{ld.application_id}/not-a-token", auth=False, json={"content": "x"}
    )
    assert (status, body["code"]) == (404, 10015)
    assert [r.authorized for r in ld.requests] == [False, True, False]


async def test_allowed_mentions_decide_who_is_pinged(
    ld: LocalDiscord, general: OpenGeneral
) -> None:
    """``AllowedMentions.none()`` pings nobody; Discord's default parses everything."""
    role = await ld.create_role("Artists", mentionable=True)
    text = f"@everyone <@{ld.alice.id}> <@&{role.id}>"
    async with general() as channel:
        quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        loud = await channel.send(text)
    assert not quiet.mention_everyone and quiet.mentions == [] and quiet.role_mentions == []
    assert ld.messages[quiet.id].allowed_mentions == {"parse": []}
    assert loud.mention_everyone and [u.id for u in loud.mentions] == [ld.alice.id]
    assert [r.id for r in loud.role_mentions] == [role.id]


async def test_history_lists_newest_first(ld: LocalDiscord, general: OpenGeneral) -> None:
    """``channel.history`` pages through the stored messages like Discord."""
    async with general() as channel:
        sent = [await channel.send(f"m{i}") for i in range(5)]
        latest = [m.content async for m in channel.history(limit=3)]
        older = [m.content async for m in channel.history(limit=10, before=sent[2])]
        newer = [m.content async for m in channel.history(limit=10, after=sent[2])]
    assert latest == ["m4", "m3", "m2"]
    assert older == ["m1", "m0"]
    assert newer == ["m3", "m4"]
