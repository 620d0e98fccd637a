"""Discord's side of ``/metrics`` and ``/readyz``: REST requests and 429s, the gateway's state.

The bot (``bot.client``) feeds it: discord.py's REST session is built with ``rest_trace()``, so
every request is counted as it is sent, retries and 429s included; the bot's gateway events mark
it connected or not, which ``/readyz`` reports. It imports no discord: what it reads of the bot
(latency, guild count) is passed in as functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

import aiohttp
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from bot.ops.http_trace import RequestDone, request_trace
from bot.ops.metrics import Declare, gauges
from bot.ops.server import Readiness

GATEWAY = "discord"  # the readiness blocker's name
_VERSION_PREFIX = re.compile(r"^/api(/v\d+)?")
_ROUTE_WORD = re.compile(r"[a-z][a-z-]{0,31}|@me|@original")
REST_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def discord_route(path: str) -> str:
    """A REST path as a route template: ids and interaction tokens become ``{id}``.

    ``/api/v10/webhooks/123/aW50…/messages/@original`` → ``/webhooks/{id}/{id}/messages/@original``.
    Only lower-case words survive, so no token ever reaches a label.
    """
    parts = [part for part in _VERSION_PREFIX.sub("", path).split("/") if part]
    return "/" + "/".join(part if _ROUTE_WORD.fullmatch(part) else "{id}" for part in parts)


class DiscordMetrics:
    """Discord REST counters and the gateway's readiness, in the process's registry."""

    def __init__(self, registry: CollectorRegistry, readiness: Readiness) -> None:
        self.readiness = readiness
        new = Declare(registry)
        self.requests = new.counter(
            "easel_discord_requests",
            "HTTP requests to Discord's REST API, by method, route and status (or the network "
            "failure), each retry counted.",
            *("method", "route", "status"),
        )
        self.rate_limited = new.counter(
            "easel_discord_rate_limited",
            "429 answers from Discord, by route and scope (user, global, shared).",
            *("route", "scope"),
        )
        self.latency = new.histogram(
            "easel_discord_request_duration_seconds",
            "Time from sending a request to Discord to its answer's headers.",
            "method",
            buckets=REST_BUCKETS,
        )
        self.connected = False
        self.latency_seconds: Callable[[], float] = lambda: math.nan
        self.guild_count: Callable[[], int] = lambda: 0
        registry.register(_GatewayCollector(self))
        readiness.block(GATEWAY, "not connected to Discord yet")

    def rest_trace(self) -> aiohttp.TraceConfig:
        """The trace config for discord.py's REST session (``http_trace=``)."""
        return request_trace(self._rest_request)

    def _rest_request(self, done: RequestDone) -> None:
        route = discord_route(done.url.path)
        self.requests.labels(done.method, route, done.outcome).inc()
        self.latency.labels(done.method).observe(done.seconds)
        if done.status == 429 and done.headers is not None:
            scope = done.headers.get("X-RateLimit-Scope")
            if scope is None:
                scope = "global" if done.headers.get("X-RateLimit-Global") else "user"
            self.rate_limited.labels(route, scope).inc()

    def gateway_up(self) -> None:
        """The gateway session is READY or RESUMED."""
        self.connected = True
        self.readiness.unblock(GATEWAY)

    def gateway_down(self, reason: str) -> None:
        """The gateway is not connected (dropped, reconnecting, unreachable)."""
        self.connected = False
        self.readiness.block(GATEWAY, reason)


class _GatewayCollector(Collector):
    """Gateway state at scrape time: connected, heartbeat latency, guilds."""

    def __init__(self, metrics: DiscordMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        latency = metrics.latency_seconds()
        yield from gauges(
            (
                "easel_discord_gateway_connected",
                "1 while the gateway session is ready, 0 while it is not.",
                1.0 if metrics.connected else 0.0,
            ),
            (
                "easel_discord_gateway_latency_seconds",
                "Time between the last gateway heartbeat and its acknowledgement (NaN before one).",
                latency if math.isfinite(latency) else math.nan,
            ),
            ("easel_discord_guilds", "Servers the bot is in.", metrics.guild_count()),
        )
