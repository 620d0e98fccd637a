"""The floor: a bare discord.py bot whose ``/imagine`` only defers (``python -m bench.floor``).

It declares the same options as Easel's ``/imagine`` (so discord.py parses the same payload) and
runs on the same interpreter, packages and event loop, configured by the same environment
(``DISCORD_*``, ``SHARD_COUNT``/``SHARD_IDS``, ``EVENT_LOOP``, ``METRICS_FILE``). What Easel
spends above this bot's acknowledgement latency is Easel's own cost per interaction. It imports
nothing of Easel's beyond a few leaf modules, so its memory is discord.py's too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, cast

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.app_commands import Range
from discord.ext import commands

from bot.eventloop import EventLoopChoice, run
from bot.ops.loop_lag import LoopLagMonitor
from bot.options import OutputFormat, Ratio

log = logging.getLogger("bench.floor")

RATIOS = [app_commands.Choice(name=ratio.value, value=ratio.value) for ratio in Ratio]
FORMATS = [app_commands.Choice(name=fmt.value, value=fmt.value) for fmt in OutputFormat]


class Floor(commands.Cog):
    """``/imagine`` with Easel's options; the handler defers and does nothing else."""

    @app_commands.command(name="imagine", description="Generate images from a prompt")
    @app_commands.guild_only()
    @app_commands.rename(output_format="format")
    @app_commands.choices(ratio=RATIOS, output_format=FORMATS)
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: Range[str, 1, 6000],
        ratio: str | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        n: Range[int, 1, 10] = 1,
        output_format: str | None = None,
        compression: Range[int, 0, 100] | None = None,
        reference: discord.Attachment | None = None,
        reference2: discord.Attachment | None = None,
        reference3: discord.Attachment | None = None,
        reference4: discord.Attachment | None = None,
        reference5: discord.Attachment | None = None,
        reference6: discord.Attachment | None = None,
        reference7: discord.Attachment | None = None,
        reference8: discord.Attachment | None = None,
        reference9: discord.Attachment | None = None,
        reference10: discord.Attachment | None = None,
    ) -> None:
        """Acknowledge, nothing more."""
        await interaction.response.defer()


def build_bot(shard_count: int | None, shard_ids: list[int]) -> commands.Bot:
    """A plain Bot when unsharded (the cheapest discord.py way), AutoShardedBot otherwise."""
    options: dict[str, Any] = {
        "command_prefix": commands.when_mentioned,
        "intents": discord.Intents(guilds=True),  # what Easel asks for
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
    }
    if shard_count is None and not shard_ids:
        return commands.Bot(**options)
    return commands.AutoShardedBot(shard_count=shard_count, shard_ids=shard_ids or None, **options)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


async def main() -> int:
    """Connect, sync ``/imagine`` from the process holding shard 0, run until SIGTERM."""
    token = os.environ["DISCORD_TOKEN"]
    if api_base := _env("DISCORD_API_BASE"):
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway := _env("DISCORD_GATEWAY_URL"):
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    count = _env("SHARD_COUNT")
    shard_ids = [int(i) for i in (_env("SHARD_IDS") or "").split(",") if i.strip()]
    bot = build_bot(int(count) if count else None, shard_ids)
    metrics = _env("METRICS_FILE")
    sync = (_env("SYNC_COMMANDS") or "true").lower() in {"1", "true", "yes"}
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    @bot.event
    async def on_ready() -> None:
        log.info("ready as %s in %d guild(s)", bot.user, len(bot.guilds))

    async def setup_hook() -> None:
        await bot.add_cog(Floor())
        if sync and (not shard_ids or 0 in shard_ids):
            await bot.tree.sync()

    bot.setup_hook = setup_hook  # type: ignore[method-assign]

    async def stop_on_signal() -> None:
        await stopping.wait()
        await bot.close()

    stopper = asyncio.create_task(stop_on_signal())
    try:
        async with LoopLagMonitor(Path(metrics) if metrics else None), bot:
            await bot.start(token)
    finally:
        if stopping.is_set():
            await stopper
        else:
            stopper.cancel()
    return 0


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sys.exit(run(main(), cast(EventLoopChoice, _env("EVENT_LOOP") or "auto")))
