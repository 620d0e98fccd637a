"""A real EaselBot with the real engine against the sandbox, driven through its CommandTree."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import discord.webhook.async_ as webhook_async
import pytest
from aiohttp import web
from discord.http import Route
from pydantic import SecretStr

from bot.client import EaselBot
from bot.providers.base import ImageProvider
from bot.providers.families import toapis_model_spec
from bot.providers.toapis.provider import ToAPIsProvider
from bot.runtime import open_services, running_policy
from bot.sandbox.server import Sandbox
from bot.settings import Settings, load_settings
from bot.store.database import MEMORY, Database
from bot.store.policy import SqlPolicyStore
from cogs._moderation_log import ModerationLog
from tests.support.discord_harness import RecordingAdapter, message_payload, prepare_bot, snowflake
from tests.support.engines import running_engine


@dataclass
class Cdn:
    """Serves files the way Discord's CDN serves a member's attachments."""

    base_url: str
    files: dict[str, bytes]

    def add(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return f"{self.base_url}/attachments/{name}"


@dataclass
class BotHttpRecorder:
    """Stands in for bot-token REST calls (channel messages), so no test can reach Discord."""

    calls: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    async def request(self, route: Route, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        for part in kwargs.get("form") or ():  # a message with files: JSON in payload_json
            if part.get("name") == "payload_json":
                body = json.loads(part["value"])
        self.calls.append((route.method, route.path, body))
        if route.method == "DELETE":
            return None
        return message_payload(snowflake(), body or {}, [])


@dataclass
class Harness:
    bot: EaselBot
    adapter: RecordingAdapter
    sandbox: Sandbox
    cdn: Cdn
    bot_http: BotHttpRecorder


def moderation_log(bot: EaselBot) -> ModerationLog:
    """The moderation log the delivery extension subscribed to the policy service."""
    cog = bot.get_cog("Delivery")
    assert cog is not None, "the delivery extension is not loaded"
    log: ModerationLog = cog.moderation_log  # type: ignore[attr-defined]
    return log


def harness_settings(tmp_path: Path) -> Settings:
    """Settings for a bot driven in-process: its own database, quick progress edits, no sync."""
    return load_settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path}/easel.sqlite3",
        progress_edit_interval=0.5,
        sync_commands=False,
    )


@asynccontextmanager
async def easel_bot(
    settings: Settings,
    provider: ImageProvider,
    files: Path,
    *,
    database: Path | str = MEMORY,
    label: str | None = None,
    fallbacks: Sequence[ImageProvider] = (),
) -> AsyncIterator[EaselBot]:
    """A bot built like ``open_services`` builds it: engine and policy on one database."""
    async with (
        Database.open(database) as db,
        running_engine(provider, files, database=db, label=label, fallbacks=fallbacks) as engine,
        running_policy(SqlPolicyStore(db), engine) as policy,
    ):
        yield EaselBot(settings, engine=engine, policy=policy)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[EaselBot]:
    """The real bot with every extension loaded (its tree is what gets synced)."""
    settings = load_settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/db")
    async with open_services(settings) as services:
        easel = EaselBot(settings, engine=services.engine, policy=services.policy)
        await prepare_bot(easel)
        for name in easel.initial_extensions:
            await easel.load_extension(name)
        yield easel
        await easel.close()


@pytest.fixture
async def cdn() -> AsyncIterator[Cdn]:
    files: dict[str, bytes] = {}

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            return web.Response(status=404)
        return web.Response(body=files[name], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/attachments/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Cdn(f"http://127.0.0.1:{port}", files)
    await runner.cleanup()


@pytest.fixture
async def harness(tmp_path: Path, cdn: Cdn) -> AsyncIterator[Harness]:
    async with Sandbox(task_duration=1.0) as sandbox, aiohttp.ClientSession() as session:
        provider = ToAPIsProvider(
            sandbox.base_url,
            SecretStr("test-key"),
            toapis_model_spec("gpt-image-2"),
            session=session,
        )
        settings = harness_settings(tmp_path)
        adapter = RecordingAdapter()
        token = webhook_async.async_context.set(adapter)  # set before any task copies the context
        try:
            async with easel_bot(
                settings, provider, tmp_path / "files", label="Sandbox · test"
            ) as bot:
                await prepare_bot(bot)
                bot.http._HTTPClient__session = session  # type: ignore[attr-defined]  # downloads
                bot_http = BotHttpRecorder()
                bot.http.request = bot_http.request  # type: ignore[method-assign]
                await bot.setup_hook()
                yield Harness(bot, adapter, sandbox, cdn, bot_http)
        finally:
            webhook_async.async_context.reset(token)
