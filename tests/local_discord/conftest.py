"""Fixtures: a started LocalDiscord, discord.py pointed at it (and restored), a bot runner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import discord.gateway
import discord.http
import pytest
from discord.ext import commands

from bot.client import use_discord_endpoints
from local_discord import LocalDiscord

RunBot = Callable[..., contextlib.AbstractAsyncContextManager[commands.Bot]]


@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Any:
    """``use_discord_endpoints`` mutates discord.py class attributes: put them back."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def discord_logs_no_errors() -> Any:
    """A payload discord.py cannot parse shows up as a logged ERROR: fail the test on it."""
    handler = _Collect()
    logger = logging.getLogger("discord")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == []


@pytest.fixture
async def ld() -> AsyncIterator[LocalDiscord]:
    """A started LocalDiscord with the default world."""
    async with LocalDiscord() as server:
        yield server
    assert server.internal_errors == []


def make_bot(**kwargs: Any) -> commands.Bot:
    """A plain bot (default intents, no 2 s wait for GUILD_CREATEs before on_ready)."""
    kwargs.setdefault("intents", discord.Intents.default())
    kwargs.setdefault("guild_ready_timeout", 0.01)
    return commands.Bot(command_prefix=commands.when_mentioned, **kwargs)


def pong_bot(bot: commands.Bot) -> commands.Bot:
    """``bot`` with ``/ping``, answered "pong" at once."""

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    return bot


@pytest.fixture
def bot_factory() -> Callable[..., commands.Bot]:
    """Build a bot; tests add their commands before running it."""
    return make_bot


OpenGeneral = Callable[[], contextlib.AbstractAsyncContextManager[discord.TextChannel]]


@pytest.fixture
def general(
    ld: LocalDiscord, run_bot: RunBot, bot_factory: Callable[..., commands.Bot]
) -> OpenGeneral:
    """``async with general() as channel``: a bot logged in (no sync); #general as it sees it."""

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[discord.TextChannel]:
        bot = bot_factory()
        async with run_bot(bot, sync=False):
            channel = bot.get_channel(ld.general.id)
            assert isinstance(channel, discord.TextChannel)
            yield channel

    return opened


@pytest.fixture
def run_bot(ld: LocalDiscord) -> RunBot:
    """``async with run_bot(bot, sync=True) as bot``: log in, sync, connect, wait for on_ready."""

    @contextlib.asynccontextmanager
    async def runner(
        bot: commands.Bot, *, sync: bool = True, server: LocalDiscord | None = None
    ) -> AsyncIterator[commands.Bot]:
        target = server or ld
        use_discord_endpoints(target.api_base, target.gateway_url)
        await bot.login(target.bot_token)
        task: asyncio.Task[None] | None = None
        try:
            if sync:
                await bot.tree.sync()
            task = asyncio.create_task(bot.connect(reconnect=True))
            await target.wait_until_connected(timeout=5)
            await asyncio.wait_for(bot.wait_until_ready(), 5)
            yield bot
        finally:
            await bot.close()
            if task is not None:
                await asyncio.wait_for(task, 5)

    return runner


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A valid tiny PNG without Pillow (so sizes in tests are exact)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def png() -> Callable[..., bytes]:
    """``png(w, h)`` -> PNG bytes."""
    return png_bytes
