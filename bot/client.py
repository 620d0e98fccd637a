"""The discord.py Bot subclass and the process around it (Discord glue).

The bot is built with its engine and policy service injected (``bot.runtime.open_services``,
after discord.py's ``examples/advanced_startup.py``) and loads its extensions by name: the
Discord side registers itself from the extensions' ``setup``, so nothing in ``bot/`` imports
``cogs``. It is an ``AutoShardedBot``: one process runs every shard Discord recommends, or the
shards ``SHARD_COUNT``/``SHARD_IDS`` give it while other processes run the rest (``bot/shards.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import logging
import pkgutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import discord.utils
import yarl
from discord import app_commands
from discord.ext import commands
from pydantic import SecretStr

from bot import eventloop
from bot.about import log_start
from bot.ack_gate import ACK_GATE
from bot.client_metrics import DiscordMetrics
from bot.discord_login import (
    DiscordUnreachableError,
    TokenRejectedError,
    backoff_delay,
    wait_for_discord,
)
from bot.early_ack import EarlyAcknowledger
from bot.errors import ConfigError
from bot.jobs.engine import Engine
from bot.network import network_cause
from bot.ops.heap import freeze_startup_heap
from bot.ops.process import Ops, running_ops
from bot.policy.service import PolicyService
from bot.runtime import open_services
from bot.settings import Settings
from bot.shards import ShardPlan

log = logging.getLogger(__name__)

EXTENSIONS = "cogs"  # the package of extensions, loaded by name
NO_MENTIONS = discord.AllowedMentions.none()  # every message Easel sends; prompts never ping
BAD_LOGIN = "was rejected by Discord. Copy the bot token again from the Developer Portal."
# A text bot never joins voice: discord.py's "voice will NOT be supported" warnings are noise.
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


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


def extension_names(package: str = EXTENSIONS) -> list[str]:
    """Every extension module of ``package``; ``_``-prefixed modules are private helpers.

    Found without importing the package: ``load_extension`` imports each by name.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"no package {package!r} to load extensions from")
    return sorted(
        f"{package}.{module.name}"
        for module in pkgutil.iter_modules(spec.submodule_search_locations)
        if not module.name.startswith("_")
    )


class EaselTree(app_commands.CommandTree["EaselBot"]):
    """The command tree, with checks that run before every application command.

    discord.py has one tree-wide hook (``interaction_check``); this keeps a list of them, so an
    extension plugs its own check in and out (``cogs.checks`` re-checks every declared option,
    since Discord's API passes on what a modified client sends). A check refuses by raising an
    ``AppCommandError``, which reaches the tree's error hook like a command's own error.
    """

    def __init__(self, client: EaselBot, **options: Any) -> None:
        super().__init__(client, **options)
        self.checks: list[Callable[[Interaction], Awaitable[bool]]] = []

    async def interaction_check(self, interaction: Interaction, /) -> bool:
        """Every check in the order they were added; the first False stops the command."""
        for check in list(self.checks):
            if not await check(interaction):
                return False
        return True


class EaselBot(commands.AutoShardedBot):
    """Easel's bot: the engine and the policy service, shared by every extension.

    Its gateway shards come from the settings; its jobs do not depend on them: the engine
    delivers through the interaction webhook or the channel over REST, which any process can.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        policy: PolicyService,
        extensions: Sequence[str] | None = None,
        metrics: DiscordMetrics | None = None,
    ) -> None:
        self.shard_plan: ShardPlan = settings.shard_plan()
        shards: dict[str, Any] = {"shard_count": self.shard_plan.count}
        if self.shard_plan.ids is not None:  # discord.py wants no shard_ids rather than None
            shards["shard_ids"] = list(self.shard_plan.ids)
        super().__init__(
            **shards,
            command_prefix=commands.when_mentioned,
            # Slash commands, buttons and modals need no intent; GUILDS keeps the channel cache.
            # Message intents would echo every edit of the bot's own messages back to it.
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=EaselTree,
        )
        self.settings = settings
        self.engine = engine
        self.policy = policy
        self.discord_metrics = metrics
        if metrics is not None:
            # discord.py builds its REST session at login, with this trace: every request counted.
            self.http.http_trace = metrics.rest_trace()
            metrics.latency_seconds = lambda: self.latency
            metrics.guild_count = lambda: len(self.guilds)
        self.initial_extensions = list(extension_names() if extensions is None else extensions)
        self._closing: asyncio.Future[None] | None = None
        self._shards_up: set[int] = set()  # this process's shards connected now
        self._heap_frozen = False  # ``on_ready`` freezes the startup heap once
        # Under a burst, job commands are acknowledged as they come off the gateway.
        self.early_acks = EarlyAcknowledger(self, ACK_GATE)
        self.early_acks.install(self._connection.parsers)

    @property
    def tree(self) -> EaselTree:
        """The command tree, typed as the one Easel builds (with its list of checks)."""
        tree = super().tree
        assert isinstance(tree, EaselTree)
        return tree

    async def setup_hook(self) -> None:
        """Load the extensions, sync commands if changed, then resume unfinished jobs.

        Resuming comes last: the extensions register the observer that renders Discord jobs.
        """
        for name in self.initial_extensions:
            await self.load_extension(name)
            log.info("loaded %s", name)
        if self.settings.sync_commands:
            if self.shard_plan.holds_first_shard:
                await self.sync_commands_if_changed()
            else:  # one process syncs; several at once would race for Discord's daily quota
                log.info("not syncing application commands: the process with shard 0 does")
        resumed = await self.engine.resume()
        if resumed:
            log.info("resumed %d unfinished job(s)", resumed)

    async def sync_commands_if_changed(self) -> None:
        """Bulk-overwrite the commands only when their definitions changed since the last sync.

        Discord limits command creates per day, so the fingerprint of the last synced set is kept
        next to the database and an unchanged set is not sent again.
        """
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        # What sync sends: with a translator, every name and description in every language, so a
        # corrected translation is synced too.
        translator = self.tree.translator
        commands = self.tree.get_commands(guild=guild)
        payload = (
            [await command.get_translated_payload(self.tree, translator) for command in commands]
            if translator is not None
            else [command.to_dict(self.tree) for command in commands]
        )
        fingerprint = hashlib.sha256(
            json.dumps(
                [payload, guild.id if guild else None, self.application_id], sort_keys=True
            ).encode()
        ).hexdigest()
        marker = self.settings.state_dir / "commands.sha256"
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
        """Stop the gateway (once, however called); the engine is closed by its owner after.

        SIGTERM and leaving ``async with bot`` both close the bot; the second caller waits for
        the first instead of closing twice.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_once())
        await asyncio.shield(self._closing)

    async def _close_once(self) -> None:
        self.early_acks.disable()  # commands acknowledged early run while still loaded
        await super().close()
        await self.early_acks.close()

    async def on_ready(self) -> None:
        """Log once every shard of this process is ready; the heap built so far lives as long
        as the process, so the collector stops walking it (``bot.ops.heap``)."""
        if not self._heap_frozen:
            self._heap_frozen = True
            freeze_startup_heap()
        log.info(
            "ready as %s in %d guild(s) on %s",
            self.user,
            len(self.guilds),
            ShardPlan(self.shard_count, self.shard_plan.ids).describe(),
        )

    async def on_shard_connect(self, shard_id: int) -> None:
        """A shard said READY: its servers' interactions arrive from now on."""
        self._shard_up(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        """A shard's gateway session resumed after a drop."""
        self._shard_up(shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        """A shard dropped; discord.py reconnects it (and logs each attempt on one line)."""
        self._shards_up.discard(shard_id)
        if self.discord_metrics is not None:
            self.discord_metrics.gateway_down(f"gateway shard {shard_id} dropped; reconnecting")

    def _shard_up(self, shard_id: int) -> None:
        """``/readyz`` says ready once every shard of this process is connected: the servers of
        a missing one would get no answer."""
        self._shards_up.add(shard_id)
        if self.discord_metrics is None:
            return
        mine = self.shard_ids or range(self.shard_count or 1)  # set at launch
        waiting = sorted(set(mine) - self._shards_up)
        if waiting:
            listed = ", ".join(map(str, waiting))
            self.discord_metrics.gateway_down(f"waiting for gateway shard(s) {listed}")
        else:
            self.discord_metrics.gateway_up()


Interaction = discord.Interaction[EaselBot]  # what every handler in ``cogs`` receives


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_bot(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; a bad token or a refused shard exits 2 with one line."""
    token = settings.require_discord_token()
    log_start(settings)
    use_discord_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    return eventloop.run(_run(settings, token), settings.event_loop)


async def _run(settings: Settings, token: SecretStr) -> int:
    """The process: health and metrics first, then the services, then Discord; closed in reverse.

    ``/healthz`` answers while the database migrates; ``/readyz`` waits for the gateway.
    """
    log.info(
        "starting with %s on the %s event loop",
        settings.shard_plan().describe(),
        type(asyncio.get_running_loop()).__module__.split(".")[0],
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with running_ops(settings) as ops:
        metrics = DiscordMetrics(ops.metrics.registry, ops.readiness)  # not ready until READY
        async with open_services(settings, ops=ops) as services:
            bot = EaselBot(
                settings, engine=services.engine, policy=services.policy, metrics=metrics
            )
            async with _closed_on(stopping, bot, ops), bot:
                if await _log_in(bot, token, stopping):
                    await _connect(bot, stopping)
    return 0


def _refused_shard(code: int) -> ConfigError | None:
    """Discord's answer to shard settings it will not accept, as the setting to change."""
    if code == 4010:  # Invalid shard
        return ConfigError(
            "SHARD_IDS", "was refused by Discord (invalid shard): check SHARD_COUNT and SHARD_IDS."
        )
    if code == 4011:  # Sharding required
        return ConfigError(
            "SHARD_COUNT",
            "is too low: Discord requires more shards for this many servers (at most 2,500 "
            "per shard). Raise it in every process, or unset it to use Discord's recommendation.",
        )
    return None


@contextlib.asynccontextmanager
async def _closed_on(stopping: asyncio.Event, bot: EaselBot, ops: Ops) -> AsyncIterator[None]:
    """Close ``bot`` when ``stopping`` is set (SIGTERM, SIGINT) while the block runs."""

    async def stop_on_signal() -> None:
        await stopping.wait()
        log.info("shutting down")
        ops.stopping()  # /readyz: 503 from now on
        await bot.close()

    stopper = asyncio.create_task(stop_on_signal())
    try:
        yield
    finally:
        if stopping.is_set():
            await stopper  # let the signal's close finish before the services close
        else:
            stopper.cancel()


async def _log_in(bot: EaselBot, token: SecretStr, stopping: asyncio.Event) -> bool:
    """Log in once Discord answers (one line per failed attempt); False when stopped first.

    Waiting has no give-up: a restarted service would wait the same, and ``/readyz`` says why
    meanwhile. A rejected token is a configuration error (exit 2).
    """

    def unreachable(exc: DiscordUnreachableError) -> None:
        if bot.discord_metrics is not None:
            bot.discord_metrics.gateway_down(f"cannot reach Discord: {exc.cause.text}")

    while True:
        try:
            reached = await wait_for_discord(
                token,
                api_base=bot.settings.discord_api_base,
                stopping=stopping,
                on_unreachable=unreachable,
            )
            if reached is None:
                return False
            await bot.login(token.get_secret_value())
            return True
        except (TokenRejectedError, discord.LoginFailure):
            raise ConfigError("DISCORD_TOKEN", BAD_LOGIN) from None
        except (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordServerError) as exc:
            # Discord went away between the check and the login: start the login over.
            log.warning("logging in to Discord failed (%s); trying again", network_cause(exc).text)
            await bot.http.close()
            bot.http.connector = discord.utils.MISSING  # the closed one cannot be reused


async def _connect(bot: EaselBot, stopping: asyncio.Event) -> None:
    """Run the gateway until the bot closes.

    discord.py reconnects a dropped gateway itself (one line per attempt, see ``log_setup``),
    but when the very first connection fails it tries to resume a socket it never had and ends
    in ``AttributeError``: connect afresh then, after a capped backoff.
    """
    attempt = 0
    while not bot.is_closed():
        try:
            await bot.connect()
            return
        except AttributeError:
            socket: object = bot.ws  # typed as always set; None until a first connection
            if socket is not None:
                raise
        except discord.ConnectionClosed as exc:
            refused = _refused_shard(exc.code)
            if refused is None:
                raise
            raise refused from None
        attempt += 1
        delay = backoff_delay(attempt)
        log.info("no gateway connection yet; again in %.0f s (attempt %d)", delay, attempt)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
