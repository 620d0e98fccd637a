"""Discord's side of the metrics: REST requests and 429s by route, the gateway's readiness."""

from __future__ import annotations

import math

import aiohttp
import pytest

from bot.client_metrics import GATEWAY, DiscordMetrics, discord_route
from bot.ops.metrics import Metrics
from bot.ops.server import Readiness
from local_discord import LocalDiscord


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/api/v10/channels/123/messages/456", "/channels/{id}/messages/{id}"),
        ("/api/v10/users/@me", "/users/@me"),
        (
            "/api/v10/webhooks/99/aW50ZXJhY3Rpb246MTIz0k/messages/@original",
            "/webhooks/{id}/{id}/messages/@original",
        ),
        ("/api/v10/interactions/1/unlikelyalllowercasebutlongtokenvalue/callback", None),
        ("/api/v10/applications/7/guilds/8/commands", "/applications/{id}/guilds/{id}/commands"),
    ],
)
def test_routes_keep_words_and_drop_ids_and_tokens(path: str, route: str | None) -> None:
    templated = discord_route(path)
    if route is not None:
        assert templated == route
    assert "aW50" not in templated and "unlikely" not in templated


async def test_rest_requests_and_429s_are_counted_by_route_status_and_scope() -> None:
    metrics = Metrics()
    discord = DiscordMetrics(metrics.registry, Readiness())
    async with (
        LocalDiscord() as ld,
        aiohttp.ClientSession(
            headers={"Authorization": f"Bot {ld.bot_token}"}, trace_configs=[discord.rest_trace()]
        ) as session,
    ):
        channel = f"{ld.api_base}/channels/{ld.general.id}/messages"
        async with session.post(channel, json={"content": "hi"}) as response:
            message = (await response.json())["id"]
        statuses = []
        for n in range(7):  # the local Discord allows 5 edits of a message per 5 s
            async with session.patch(f"{channel}/{message}", json={"content": f"{n}"}) as response:
                statuses.append(response.status)

    def value(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    edits = {"method": "PATCH", "route": "/channels/{id}/messages/{id}"}
    assert statuses.count(429) == 2
    assert value("easel_discord_requests_total", **edits, status="200") == 5
    assert value("easel_discord_requests_total", **edits, status="429") == 2
    posts = {"method": "POST", "route": "/channels/{id}/messages", "status": "200"}
    assert value("easel_discord_requests_total", **posts) == 1
    limited = {"route": "/channels/{id}/messages/{id}", "scope": "user"}
    assert value("easel_discord_rate_limited_total", **limited) == 2
    assert value("easel_discord_request_duration_seconds_count", method="PATCH") == 7


async def test_the_gateway_blocks_readiness_until_up_and_again_when_it_drops() -> None:
    metrics = Metrics()
    readiness = Readiness()
    discord = DiscordMetrics(metrics.registry, readiness)
    discord.latency_seconds = lambda: 0.042
    discord.guild_count = lambda: 3

    assert await readiness.reasons() == {GATEWAY: "not connected to Discord yet"}
    assert metrics.registry.get_sample_value("easel_discord_gateway_connected") == 0

    discord.gateway_up()
    assert await readiness.reasons() == {}
    assert metrics.registry.get_sample_value("easel_discord_gateway_connected") == 1
    assert metrics.registry.get_sample_value("easel_discord_gateway_latency_seconds") == 0.042
    assert metrics.registry.get_sample_value("easel_discord_guilds") == 3

    discord.gateway_down("the gateway connection dropped; reconnecting")
    assert await readiness.reasons() == {GATEWAY: "the gateway connection dropped; reconnecting"}


def test_latency_before_the_first_heartbeat_is_nan_not_infinity() -> None:
    metrics = Metrics()
    discord = DiscordMetrics(metrics.registry, Readiness())
    discord.latency_seconds = lambda: math.inf

    value = metrics.registry.get_sample_value("easel_discord_gateway_latency_seconds")

    assert value is not None and math.isnan(value)
