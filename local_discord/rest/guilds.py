"""Guilds as REST shows them: the guild, its channels, roles and members."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from local_discord.errors import UNKNOWN_GUILD, UNKNOWN_MEMBER, DiscordError
from local_discord.models import Guild
from local_discord.rest.http import API_PREFIX, BotAuth, json_response, snowflake
from local_discord.state import World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GuildRoutes:
    """``/guilds/{guild_id}/...``: only guilds the bot is in."""

    world: World
    auth: BotAuth

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register this resource's routes."""
        g = f"{API_PREFIX}/guilds/{{guild_id}}"
        router.add_get(g, self.get_guild)
        router.add_get(f"{g}/channels", self.get_guild_channels)
        router.add_get(f"{g}/roles", self.get_guild_roles)
        router.add_get(f"{g}/members/{{user_id}}", self.get_member)

    def _guild(self, request: web.Request) -> Guild:
        self.auth.check(request)
        guild = self.world.guilds.get(snowflake(request, "guild_id"))
        if guild is None or self.world.bot_user.id not in guild.members:
            raise DiscordError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}`` (REST omits channels and members, like Discord)."""
        guild = self._guild(request)
        data = guild.payload()
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            data.pop(key, None)
        return json_response(data)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}/channels``."""
        guild = self._guild(request)
        return json_response([c.payload() for c in guild.channels.values()])

    async def get_guild_roles(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}/roles``."""
        guild = self._guild(request)
        return json_response([r.payload() for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        """``GET /guilds/{g}/members/{u}``."""
        guild = self._guild(request)
        member = guild.members.get(snowflake(request, "user_id"))
        if member is None:
            raise DiscordError(404, UNKNOWN_MEMBER, "Unknown Member")
        return json_response(member.payload())
