"""Application commands, global and per guild: what ``tree.sync()`` writes and reads back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from aiohttp import web

from local_discord.errors import DiscordError, missing_access
from local_discord.rest.http import (
    API_PREFIX,
    BotAuth,
    json_response,
    no_content,
    read_body,
    snowflake,
)
from local_discord.state import World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandRoutes:
    """``/applications/{application_id}[/guilds/{guild_id}]/commands[/{command_id}]``."""

    world: World
    auth: BotAuth
    _: KW_ONLY
    on_change: Callable[[], None]
    #: Told which scope's commands were written (``None``: global), after each write (the feed).
    on_commands: Callable[[int | None], None] = lambda scope: None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register this resource's routes, for both scopes."""
        for scope in ("", "/guilds/{guild_id}"):
            base = f"{API_PREFIX}/applications/{{application_id}}{scope}/commands"
            router.add_get(base, self.list_commands)
            router.add_put(base, self.overwrite_commands)
            router.add_post(base, self.create_command)
            router.add_get(f"{base}/{{command_id}}", self.get_command)
            router.add_patch(f"{base}/{{command_id}}", self.edit_command)
            router.add_delete(f"{base}/{{command_id}}", self.delete_command)

    def _scope(self, request: web.Request) -> int | None:
        """``None`` for global commands, else a guild the bot is in."""
        self.auth.check(request)
        world = self.world
        if snowflake(request, "application_id") != world.application_id:
            raise DiscordError(404, 10002, "Unknown Application")
        if "guild_id" not in request.match_info:
            return None
        gid = snowflake(request, "guild_id")
        guild = world.guilds.get(gid)
        if guild is None or world.bot_user.id not in guild.members:
            raise missing_access()
        return gid

    async def _write(
        self, request: web.Request, scope: int | None, store: Callable[[int | None, Any], Any]
    ) -> web.Response:
        """Store the request body with ``store`` and answer what was stored."""
        body, _ = await read_body(request)
        stored = store(scope, body)
        self.on_change()
        self.on_commands(scope)
        return json_response(stored)

    async def list_commands(self, request: web.Request) -> web.Response:
        """``GET .../commands``."""
        scope = self._scope(request)
        return json_response(list(self.world.commands.get(scope, {}).values()))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        """``PUT .../commands``: what ``tree.sync()`` sends."""
        return await self._write(request, self._scope(request), self.world.overwrite_commands)

    async def create_command(self, request: web.Request) -> web.Response:
        """``POST .../commands``: upsert one command."""
        return await self._write(request, self._scope(request), self.world.upsert_command)

    async def get_command(self, request: web.Request) -> web.Response:
        """``GET .../commands/{id}``."""
        scope = self._scope(request)
        return json_response(self.world.command(scope, snowflake(request, "command_id")))

    async def edit_command(self, request: web.Request) -> web.Response:
        """``PATCH .../commands/{id}``: the stored command with the body's fields replaced."""
        scope = self._scope(request)
        existing = self.world.command(scope, snowflake(request, "command_id"))

        def merge(scope: int | None, body: Any) -> Any:
            patch = body if isinstance(body, dict) else {}
            return self.world.upsert_command(scope, {**existing, **patch})

        return await self._write(request, scope, merge)

    async def delete_command(self, request: web.Request) -> web.Response:
        """``DELETE .../commands/{id}``."""
        scope = self._scope(request)
        cid = snowflake(request, "command_id")
        self.world.command(scope, cid)
        del self.world.commands[scope][cid]
        self.on_change()
        self.on_commands(scope)
        return no_content()
