"""The discord.py Bot subclass: owns the engine and loads the cogs (Discord glue)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import pkgutil
import signal
from contextlib import AsyncExitStack
from pathlib import Path

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from discord.ext import commands

import cogs
from bot.errors import ConfigError
from bot.jobs.engine import Engine
from bot.metrics import LoopLagMonitor
from bot.policy.service import PolicyService
from bot.runtime import open_engine
from bot.settings import Settings
from bot.store.jobs import SqliteJobStore
from bot.store.policy import SqlitePolicyStore
from cogs._delivery import DiscordDelivery
from cogs._policy import ModerationLog

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def use_discord_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Point discord.py's REST and gateway at another Discord (the local one in tests).

    discord.py reads both from class attributes: ``Route.BASE`` for every REST call, including the
    interaction webhooks, and ``DiscordWebSocket.DEFAULT_GATEWAY`` for the first connection (a
    non-sharded client never asks ``/gateway/bot``).
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def extension_names() -> list[str]:
    """Every cog module under ``cogs/``; ``_``-prefixed modules are private helpers."""
    return sorted(
        f"{cogs.__name__}.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if not module.name.startswith("_")
    )


class EaselTree(app_commands.CommandTree["EaselBot"]):
    """Command tree whose last-resort error handler always answers the member."""

    async def on_error(
        self, interaction: discord.Interaction[EaselBot], error: app_commands.AppCommandError
    ) -> None:
        """Log unexpected errors once and tell the member, ephemerally, that it was our fault."""
        original = getattr(error, "original", error)
        log.error(
            "command %s failed for user %s in guild %s",
            interaction.command.qualified_name if interaction.command else "?",
            interaction.user.id,
            interaction.guild_id,
            exc_info=original,
        )
        message = (
            f"Something went wrong inside Easel (reference `{interaction.id}`). Please try again."
        )
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    message, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
            else:
                await interaction.response.send_message(
                    message, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException:
            log.warning("could not report the error to the member", exc_info=True)


class EaselBot(commands.Bot):
    """Easel's bot: one engine shared by every cog."""

    engine: Engine
    policy: PolicyService
    moderation_log: ModerationLog

    def __init__(self, settings: Settings, *, engine: Engine | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            # Slash commands, buttons and modals need no intent; GUILDS keeps the channel cache.
            # Message intents would echo every edit of the bot's own messages back to it.
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            tree_cls=EaselTree,
            help_command=None,
        )
        self.settings = settings
        self._resources = AsyncExitStack()
        self._closing: asyncio.Future[None] | None = None
        if engine is not None:
            self.engine = engine

    async def setup_hook(self) -> None:
        """Open the engine, load every cog, sync commands if changed, resume unfinished jobs."""
        if not hasattr(self, "engine"):
            self.engine = await self._resources.enter_async_context(open_engine(self.settings))
        self.engine.observe("discord", DiscordDelivery(self))
        await self._open_policy()
        for name in extension_names():
            await self.load_extension(name)
            log.info("loaded %s", name)
        if self.settings.sync_commands:
            await self.sync_commands_if_changed()
        resumed = await self.engine.resume()
        if resumed:
            log.info("resumed %d unfinished job(s)", resumed)

    async def _open_policy(self) -> None:
        """Load server rules and usage from the engine's database; hook usage and audit in."""
        store = self.engine.store
        if not isinstance(store, SqliteJobStore):
            raise ConfigError("DATABASE_URL", "community controls need the SQLite job store")
        self.policy = await PolicyService.load(SqlitePolicyStore(store.database))
        self.moderation_log = ModerationLog(self)
        self.policy.subscribe(self.moderation_log)
        self.engine.on_finished(self.policy.job_finished)

    async def sync_commands_if_changed(self) -> None:
        """Bulk-overwrite the commands only when their definitions changed since the last sync.

        Discord limits command creates per day, so the fingerprint of the last synced set is kept
        next to the database and an unchanged set is not sent again.
        """
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        fingerprint = hashlib.sha256(
            json.dumps(
                [payload, guild.id if guild else None, self.application_id], sort_keys=True
            ).encode()
        ).hexdigest()
        marker = self.settings.database_path.with_name("commands.sha256")
        previous = await asyncio.to_thread(_read_text, marker)
        if previous == fingerprint:
            log.info("application commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        await asyncio.to_thread(_write_text, marker, fingerprint)
        log.info(
            "synced %d application command(s)%s", len(synced), " to the dev guild" if guild else ""
        )

    async def close(self) -> None:
        """Stop the gateway first, then the engine and its connections (once, however called).

        SIGTERM and leaving ``async with bot`` both close the bot; the second caller waits for
        the first instead of closing the database a second time.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_once())
        await asyncio.shield(self._closing)

    async def _close_once(self) -> None:
        await super().close()
        await self._resources.aclose()

    async def on_ready(self) -> None:
        """Log once the gateway is ready."""
        log.info("ready as %s in %d guild(s)", self.user, len(self.guilds))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_bot(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; a bad token exits 2 with one line."""
    token = settings.require_discord_token()
    use_discord_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    return asyncio.run(_run(settings, token.get_secret_value()))


async def _run(settings: Settings, token: str) -> int:
    bot = EaselBot(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    async def stop_on_signal() -> None:
        await stopping.wait()
        log.info("shutting down")
        await bot.close()

    stopper = asyncio.create_task(stop_on_signal())
    try:
        async with LoopLagMonitor(settings.metrics_file), bot:
            await bot.start(token)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN", "was rejected by Discord. Copy the bot token again from the portal."
        ) from None
    finally:
        if stopping.is_set():
            await stopper  # let the signal's close finish before the loop ends
        else:
            stopper.cancel()
    return 0
