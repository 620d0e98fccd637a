"""Gateway sharding as Discord does it: shard counts, IDENTIFY's shard, routing, 4010 and 4011."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.client import use_discord_endpoints
from local_discord import Channel, Guild, LocalDiscord, NoBotConnected
from local_discord.snowflake import SnowflakeFactory, shard_of


def general_of(guild: Guild) -> Channel:
    """A guild's #general."""
    return next(c for c in guild.channels.values() if c.name == "general")


def shard_bot(shard_id: int | None, shard_count: int | None) -> commands.AutoShardedBot:
    """An AutoShardedBot that runs one shard of ``shard_count`` (or asks Discord for all)."""
    bot = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        guild_ready_timeout=0.01,
        shard_count=shard_count,
        shard_ids=None if shard_id is None else [shard_id],
    )

    async def no_identify_pause(shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py waits 5 s between two IDENTIFYs of one process

    bot.before_identify_hook = no_identify_pause  # type: ignore[method-assign]
    return bot


@contextlib.asynccontextmanager
async def connected(ld: LocalDiscord, bot: commands.AutoShardedBot) -> AsyncIterator[None]:
    """Log in and connect ``bot`` until its shards are READY; close it on the way out."""
    await bot.login(ld.bot_token)
    task = asyncio.create_task(bot.connect(reconnect=True))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        yield
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)


async def identify(ld: LocalDiscord, shard: Any) -> tuple[list[dict[str, Any]], int | None]:
    """A raw IDENTIFY with ``shard`` (omitted when None): the frames received, the close code."""
    frames: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(ld.gateway_url) as ws:
        await ws.receive()  # HELLO
        data: dict[str, Any] = {"token": ld.bot_token, "intents": 1, "properties": {}}
        if shard is not None:
            data["shard"] = shard
        await ws.send_str(json.dumps({"op": 2, "d": data}))
        while True:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                return frames, ws.close_code
            frames.append(json.loads(msg.data))
            if frames[0].get("t") == "READY" and len(frames) > len(frames[0]["d"]["guilds"]):
                return frames, None


def test_ids_can_be_placed_on_a_shard_and_stay_monotonic() -> None:
    """``next_on_shard`` moves the timestamp at most ``count - 1`` ms; ids keep increasing."""
    ids = SnowflakeFactory()
    made = [ids.next_on_shard(i % 3, 3) for i in range(30)] + [ids.next()]
    assert made == sorted(set(made))
    assert [shard_of(g, 3) for g in made[:30]] == [i % 3 for i in range(30)]
    assert shard_of(None, 3) == 0


async def test_gateway_bot_recommends_the_configured_shard_count() -> None:
    """``GET /gateway/bot`` answers ``shards`` (set at construction or later) and its URL."""
    async with LocalDiscord(shards=3) as ld, aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {ld.bot_token}"}
        async with session.get(f"{ld.api_base}/gateway/bot", headers=headers) as reply:
            body = await reply.json()
        assert body["shards"] == 3 and body["url"] == ld.gateway_url
        assert body["session_start_limit"]["max_concurrency"] == 1
        ld.recommended_shards = 4
        async with session.get(f"{ld.api_base}/gateway/bot", headers=headers) as reply:
            assert (await reply.json())["shards"] == 4
    with pytest.raises(ValueError, match="at least 1"):
        LocalDiscord(shards=0)


async def test_create_guild_on_a_shard() -> None:
    """The default guild is on shard 0; ``shard=`` places a new one; a shard out of range fails."""
    async with LocalDiscord(shards=2) as ld:
        other = await ld.create_guild("Other", shard=1)
        third = await ld.create_guild("Third", shard=0)
        assert [ld.shard_of(g) for g in (ld.guild, other, third)] == [0, 1, 0]
        assert ld.shard_of(other, 1) == 0
        with pytest.raises(ValueError, match="shard 2"):
            await ld.create_guild("Nowhere", shard=2)


async def test_two_shard_processes_each_get_their_guilds_and_interactions() -> None:
    """Shards 0 and 1 of 2 in separate clients: GUILD_CREATEs and INTERACTION_CREATEs follow
    ``(guild_id >> 22) % 2``, DMs go to shard 0, and neither client sees the other's events."""
    async with LocalDiscord(shards=2) as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        second = await ld.create_guild("Second", members=[ld.alice], shard=1)
        seen: dict[int, list[int | None]] = {0: [], 1: []}
        bots = {shard: shard_bot(shard, 2) for shard in (0, 1)}
        for shard, bot in bots.items():

            @bot.tree.command(name="ping", description="ping")
            async def ping(interaction: discord.Interaction, shard: int = shard) -> None:
                seen[shard].append(interaction.guild_id)
                await interaction.response.send_message(f"pong from shard {shard}")

        await bots[0].login(ld.bot_token)
        await bots[0].tree.sync()
        async with connected(ld, bots[0]), connected(ld, bots[1]):
            await ld.wait_until_connected(shards=[0, 1])
            assert sorted(s.shard for s in ld.sessions) == [(0, 2), (1, 2)]
            assert [g.id for g in bots[0].guilds] == [ld.guild.id]
            assert [g.id for g in bots[1].guilds] == [second.id]
            assert bots[1].get_guild(second.id).shard_id == 1  # type: ignore[union-attr]

            in_first = await ld.send_slash_command(ld.alice, ld.general, "ping")
            in_second = await ld.send_slash_command(ld.alice, general_of(second), "ping")
            in_dm = await ld.send_slash_command(ld.alice, ld.dm_channel(ld.alice), "ping")
            for handle in (in_first, in_second, in_dm):
                await handle.wait_for_callback()
            assert seen == {0: [ld.guild.id, None], 1: [second.id]}
            assert in_second.original is not None
            assert in_second.original.content == "pong from shard 1"

            # A guild created later arrives only on its shard.
            third = await ld.create_guild("Third", shard=1)
            await ld.wait_for(lambda _: bots[1].get_guild(third.id) is not None)
            assert bots[0].get_guild(third.id) is None


async def test_an_interaction_for_a_shard_nobody_runs_has_nowhere_to_go() -> None:
    """Only shard 0 of 2 is connected: an interaction in a shard-1 guild raises, naming why."""
    async with LocalDiscord(shards=2) as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        other = await ld.create_guild("Other", members=[ld.alice], shard=1)
        ld.register_commands([{"name": "ping", "description": "ping"}])
        bot = shard_bot(0, 2)
        async with connected(ld, bot):
            with pytest.raises(NoBotConnected, match=r"none of the shards \[\(0, 2\)\]"):
                await ld.send_slash_command(ld.alice, general_of(other), "ping")
            with pytest.raises(TimeoutError, match=r"shard\(s\) \[1\]"):
                await ld.wait_until_connected(0.05, shards=[1])


@pytest.mark.parametrize(
    "shard", [[2, 2], [-1, 2], [0, 0], [0], [0, 1, 2], ["0", "2"], [True, 2], "0,2", {"id": 0}]
)
async def test_identify_with_an_invalid_shard_is_closed_with_4010(
    ld: LocalDiscord, shard: Any
) -> None:
    """Discord's 4010 "Invalid shard": an id outside the count, or a malformed ``shard``."""
    frames, code = await identify(ld, shard)
    assert (frames, code) == ([], 4010)
    assert ld.sessions == []


async def test_too_many_guilds_for_one_session_is_closed_with_4011() -> None:
    """Discord's 4011 "Sharding required": a session that would get more guilds than allowed;
    the same guilds split over two shards are accepted."""
    async with LocalDiscord(shards=2) as ld:
        ld.gateway.max_guilds_per_shard = 1
        await ld.create_guild("Other", shard=1)
        assert await identify(ld, None) == ([], 4011)
        assert await identify(ld, [0, 1]) == ([], 4011)
        for shard_id in (0, 1):
            frames, code = await identify(ld, [shard_id, 2])
            assert code is None
            assert frames[0]["d"]["shard"] == [shard_id, 2]
            assert len(frames[0]["d"]["guilds"]) == 1


async def test_discord_py_stops_on_sharding_required() -> None:
    """discord.py does not retry a 4011: ``connect`` raises ConnectionClosed with the code."""
    async with LocalDiscord() as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        ld.gateway.max_guilds_per_shard = 1
        await ld.create_guild("Other")
        bot = shard_bot(None, 1)
        try:
            await bot.login(ld.bot_token)
            with pytest.raises(discord.ConnectionClosed) as raised:
                await asyncio.wait_for(bot.connect(reconnect=True), 5)
            assert raised.value.code == 4011
        finally:
            await bot.close()


async def test_auto_sharded_bot_without_a_count_runs_every_recommended_shard() -> None:
    """No shard count: discord.py asks ``/gateway/bot`` and runs all of them in one process."""
    async with LocalDiscord(shards=3) as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        guilds = [await ld.create_guild(f"G{i}", shard=i % 3) for i in range(5)]
        bot = shard_bot(None, None)
        async with connected(ld, bot):
            await ld.wait_until_connected(shards=range(3))
            assert bot.shard_count == 3
            assert {g.id: g.shard_id for g in bot.guilds} == {
                g.id: ld.shard_of(g) for g in [ld.guild, *guilds]
            }
        assert ld.requests_to("/gateway/bot", "GET")
