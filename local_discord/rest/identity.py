"""The gateway address, users, DMs and the application: what discord.py logs in with."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from aiohttp import web

from local_discord.errors import UNKNOWN_USER, DiscordError
from local_discord.rest.http import API_PREFIX, BotAuth, json_response, read_body, snowflake
from local_discord.state import World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdentityRoutes:
    """``/gateway``, ``/gateway/bot``, ``/users/...`` and ``/applications/@me``."""

    world: World
    auth: BotAuth
    _: KW_ONLY
    gateway_url: Callable[[], str]
    shards: Callable[[], int]
    identifies: Callable[[], int]

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register this resource's routes."""
        p = API_PREFIX
        router.add_get(f"{p}/gateway", self.get_gateway)
        router.add_get(f"{p}/gateway/bot", self.get_gateway_bot)
        router.add_get(f"{p}/users/@me", self.get_me)
        router.add_post(f"{p}/users/@me/channels", self.create_dm)
        router.add_get(f"{p}/users/{{user_id}}", self.get_user)
        router.add_get(f"{p}/oauth2/applications/@me", self.get_application)
        router.add_get(f"{p}/applications/@me", self.get_application)

    async def get_gateway(self, request: web.Request) -> web.Response:
        """``GET /gateway``."""
        return json_response({"url": self.gateway_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """``GET /gateway/bot`` (AutoShardedClient asks for the shard count here)."""
        self.auth.check(request)
        return json_response(
            {
                "url": self.gateway_url(),
                "shards": self.shards(),
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.identifies(),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, request: web.Request) -> web.Response:
        """``GET /users/@me``: how discord.py logs in."""
        self.auth.check(request)
        user = dict(self.world.bot_user.payload())
        user.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
        return json_response(user)

    async def get_user(self, request: web.Request) -> web.Response:
        """``GET /users/{id}``."""
        self.auth.check(request)
        user = self.world.users.get(snowflake(request, "user_id"))
        if user is None:
            raise DiscordError(404, UNKNOWN_USER, "Unknown User")
        return json_response(user.payload())

    async def create_dm(self, request: web.Request) -> web.Response:
        """``POST /users/@me/channels``: open (or reuse) the DM with a user."""
        self.auth.check(request)
        body, _ = await read_body(request)
        rid = body.get("recipient_id") if isinstance(body, dict) else None
        try:
            user = self.world.users.get(int(rid)) if rid is not None else None
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise DiscordError(404, UNKNOWN_USER, "Unknown User")
        return json_response(self.world.dm_channel(user).payload())

    async def get_application(self, request: web.Request) -> web.Response:
        """``GET /oauth2/applications/@me``: discord.py reads it right after login."""
        self.auth.check(request)
        world = self.world
        owner = world.app_owner or world.bot_user
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner.payload(),
                "team": None,
                "flags": 0,
                "rpc_origins": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
                "approximate_guild_count": sum(
                    1 for g in world.guilds.values() if world.bot_user.id in g.members
                ),
                "integration_types_config": {"0": {}},
                "bot": world.bot_user.payload(),
            }
        )
