"""The floor bot: Easel's /imagine options, deferred and nothing else, sharded like Easel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import discord.gateway
import discord.http
import pytest
from discord import app_commands

from bench.floor import Floor, build_bot
from local_discord import LocalDiscord


@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Iterator[None]:
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


async def test_the_floor_defers_imagine_on_its_shard_and_does_nothing_else() -> None:
    async with LocalDiscord(shards=2) as ld:
        discord.http.Route.BASE = ld.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = discord.gateway.yarl.URL(ld.gateway_url)
        other = await ld.create_guild("Other", members=[ld.alice], shard=1)
        bot = build_bot(2, [1])
        assert isinstance(bot, discord.AutoShardedClient) and bot.shard_ids == [1]
        assert type(build_bot(None, [])) is discord.ext.commands.Bot
        await bot.add_cog(Floor())
        await bot.login(ld.bot_token)
        await bot.tree.sync()
        task = asyncio.create_task(bot.connect())
        try:
            await ld.wait_until_connected(shards=[1])
            channel = next(c for c in other.channels.values() if c.name == "general")
            handle = await ld.send_slash_command(
                ld.alice,
                channel,
                "imagine",
                {"prompt": "a fox", "ratio": "16:9", "resolution": "2K", "n": 2},
                attachments=[("ref.png", b"\x89PNG\r\n\x1a\n", "image/png")],
            )
            assert (await handle.wait_for_callback()).type == 5
            await asyncio.sleep(0.2)
            # Only the "thinking…" message the defer makes: never edited, nothing followed.
            assert handle.original is not None and len(handle.original.versions) == 1
            assert handle.followups == []
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)
        assert [c["name"] for c in ld.commands()] == ["imagine"]


def test_the_floor_declares_easels_imagine_options() -> None:
    """Same names, types, limits and requiredness: discord.py parses the same payload."""
    from cogs.imagine import Imagine

    tree = build_bot(None, []).tree

    def shape(command: app_commands.Command[Any, Any, Any]) -> list[tuple[Any, ...]]:
        keys = ("name", "type", "required", "min_length", "max_length", "min_value", "max_value")
        return [tuple(o.get(k) for k in keys) for o in command.to_dict(tree)["options"]]

    assert shape(Floor.imagine) == shape(Imagine.imagine_command)
