"""``python -m bot playground`` (and ``python -m bot`` without a token): Easel in a browser.

One process runs the local Discord the end-to-end tests use, the real bot connected to it over
HTTP and WebSocket exactly as to Discord, the image provider the settings name (the sandbox
without a key), and the page on ``http://127.0.0.1:PLAYGROUND_PORT``. State lives in a temporary
folder: the local Discord is new on every start, and so is what Easel remembers of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.client import EaselBot, use_discord_endpoints
from bot.errors import ConfigError
from bot.playground.app import Hub, build_app
from bot.playground.room import Room
from bot.playground.world import Server, new_server, welcome
from bot.runtime import open_services
from bot.settings import Settings
from bot.state_paths import default_database_url

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never reachable from another machine
READY_TIMEOUT = 30.0  # seconds for the bot to connect and sync its commands


@dataclass(frozen=True, slots=True)
class Playground:
    """A running playground."""

    url: str
    server: Server
    room: Room
    bot: EaselBot


def playground_settings(settings: Settings, server: Server, data: Path) -> Settings:
    """``settings`` pointed at the local Discord, with state in ``data``.

    The image provider stays as configured: the sandbox without a key, real images with one.
    """
    ld = server.ld
    return settings.model_copy(
        update={
            "discord_token": SecretStr(ld.bot_token),
            "discord_api_base": ld.api_base,
            "discord_gateway_url": ld.gateway_url,
            "dev_guild_id": None,
            "sync_commands": True,
            "data_dir": data,  # the database and the stored images both
            "database_url": SecretStr(default_database_url(data)),
        }
    )


@contextlib.asynccontextmanager
async def open_playground(settings: Settings, port: int) -> AsyncIterator[Playground]:
    """Start everything (the page first: a port in use fails at once); stop it all on exit."""
    server = await new_server()
    hub = Hub()
    room = Room(
        server.ld,
        server.personas,
        modlog_channel_id=server.modlog_id,
        provider_label="",
        publish=hub.publish,
    )
    async with contextlib.AsyncExitStack() as stack:
        runner = web.AppRunner(build_app(room, hub), access_log=None, handle_signals=False)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        stack.callback(hub.close)
        url = await _bind(runner, port)
        await server.ld.start()
        stack.push_async_callback(server.ld.stop)
        stack.callback(room.watch())
        await welcome(server)
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="easel-playground-")))
        bot_settings = playground_settings(settings, server, data)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(trace_configs=[room.activity.trace_config()])
        )
        services = await stack.enter_async_context(open_services(bot_settings, session=session))
        room.provider_label = services.engine.label  # shown in each visitor's language
        bot = EaselBot(bot_settings, engine=services.engine, policy=services.policy)
        await stack.enter_async_context(_connected(bot, server))
        await _use_modlog(server)
        yield Playground(url, server, room, bot)


async def _bind(runner: web.AppRunner, port: int) -> str:
    """Serve the page on 127.0.0.1:``port`` (0: any free port); the URL to open."""
    site = web.TCPSite(runner, HOST, port)
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                "PLAYGROUND_PORT",
                f"{port} is in use on {HOST}. Stop what uses it, or pick another port "
                "(PLAYGROUND_PORT in .env, or --port).",
            ) from None
        raise
    bound = runner.addresses[0][1]
    return f"http://{HOST}:{bound}/"


@contextlib.asynccontextmanager
async def _connected(bot: EaselBot, server: Server) -> AsyncIterator[None]:
    """Log the bot in to the local Discord and wait until members can use its commands."""
    ld = server.ld
    use_discord_endpoints(ld.api_base, ld.gateway_url)
    running = asyncio.create_task(bot.start(ld.bot_token), name="easel-bot")
    closing = asyncio.Event()  # set once the playground stops the bot itself

    def report_stop(task: asyncio.Task[None]) -> None:
        """The bot's task ended: say so if it was not asked to (the page would go quiet)."""
        if closing.is_set() or task.cancelled() or task.exception() is None:
            return
        log.error("the bot stopped", exc_info=task.exception())

    running.add_done_callback(report_stop)

    def ready(_: object) -> bool:
        commands = ld.usable_commands(server.admin.user_id, server.general_id, type=1)
        return ld.connected and any(c["name"] == "imagine" for c in commands)

    waiting = asyncio.ensure_future(ld.wait_for(ready, timeout=READY_TIMEOUT))
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            running.result()  # the bot stopped before it was ready: raise its error
            raise RuntimeError("the bot stopped before it connected")
        waiting.result()
        yield
    finally:
        waiting.cancel()
        stopped_here = not running.done()
        closing.set()
        await bot.close()
        try:
            await running
        except asyncio.CancelledError:
            pass
        except Exception:
            if not stopped_here:
                raise
            # Stopped while starting (a signal during the command sync): what the start was
            # doing fails on the closed session, as asked.
            log.debug("the bot's start ended on its way out", exc_info=True)


async def _use_modlog(server: Server) -> None:
    """The admin points Easel's moderation log at ``#mod-log``, as a server admin would."""
    handle = await server.ld.send_slash_command(
        server.admin.user_id,
        server.modlog_id,
        "easel",
        {"channel": server.modlog_id},
        subcommand="modlog",
    )
    try:
        await handle.wait_for(lambda h: bool(h.callbacks), timeout=10)
    except TimeoutError:
        log.warning("Easel did not answer /easel modlog; set it from the page as Sam")


def run_playground(settings: Settings, port: int) -> int:
    """Run until Ctrl+C (SIGINT) or SIGTERM; print the page's address once it works."""
    return asyncio.run(_serve(settings, port))


async def _serve(settings: Settings, port: int) -> int:
    """Start, print the address, run until a signal; a signal while starting cancels the start."""
    stopping = asyncio.Event()
    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    main = asyncio.create_task(_run_until(settings, port, started, stopping))
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not main.done() and not started.is_set():
        main.cancel()
    try:
        return await main
    except asyncio.CancelledError:
        return 0


async def _run_until(
    settings: Settings, port: int, started: asyncio.Event, stopping: asyncio.Event
) -> int:
    async with open_playground(settings, port) as playground:
        started.set()
        print(
            f"\nEasel playground: {playground.url}\n"
            f"  The real bot in a local Discord. Images: {playground.room.provider_label}.\n"
            "  Ctrl+C stops it.\n",
            flush=True,
        )
        await stopping.wait()
        print("stopping the playground …", flush=True)
    return 0
