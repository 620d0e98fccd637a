"""The discord.py Bot subclass: owns the session, the engine and the cogs (Discord glue)."""

from __future__ import annotations

import discord
import discord.gateway
import discord.http
import yarl


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
