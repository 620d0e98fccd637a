"""What the bot did, for the page's activity panel: its Discord REST calls (429s stand out), the
gateway events it was sent, and its requests to the image API.

Discord's side comes from the local Discord's feed; the upstream side from an aiohttp trace on the
engine's HTTP session, so it shows the sandbox and a real image API alike. Only methods, hosts,
paths and statuses are kept: never headers or query strings, where keys and signed URLs live.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any, Literal

import aiohttp
from yarl import URL

JSON = dict[str, Any]
Source = Literal["discord", "gateway", "upstream"]
KEEP = 500  # entries the panel can show after a reload

#: What a Discord route is for, in the words of the docs.
ROUTE_NAMES = {
    ("POST", "/interactions/{interaction_id}/{token}/callback"): "answer an interaction",
    ("POST", "/webhooks/{application_id}/{token}"): "send a follow-up",
    ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}"): "read a response",
    ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}"): "edit a response",
    ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}"): "delete a response",
    ("POST", "/channels/{channel_id}/messages"): "post a message",
    ("GET", "/channels/{channel_id}/messages"): "read channel history",
    ("GET", "/channels/{channel_id}/messages/{message_id}"): "read a message",
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): "edit a message",
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"): "delete a message",
    ("PUT", "/applications/{application_id}/commands"): "sync commands",
    ("GET", "/applications/{application_id}/commands"): "read commands",
    ("POST", "/users/@me/channels"): "open a DM",
    ("GET", "/users/@me"): "log in",
    ("GET", "/gateway"): "find the gateway",
    ("GET", "/gateway/bot"): "find the gateway",
    ("GET", "/attachments/{channel_id}/{attachment_id}/{filename}"): "download an attachment",
    ("GET", "/media/attachments/{channel_id}/{attachment_id}/{filename}"): "download an attachment",
}


@dataclass(frozen=True, slots=True)
class Activity:
    """One line of the panel."""

    source: Source
    method: str  # HTTP method, or "EVENT" for the gateway
    target: str  # a route template, ``host/path``, or an event name
    status: int | None  # None: no answer (a connection error) or an event
    ms: float | None
    at: float  # wall-clock seconds
    note: str = ""

    def json(self) -> JSON:
        """As the page reads it."""
        return asdict(self)


@dataclass(slots=True)
class Totals:
    """The counters over the panel."""

    discord: int = 0
    rate_limited: int = 0
    upstream: int = 0
    upstream_failed: int = 0


class ActivityLog:
    """The last ``KEEP`` activities and running totals; every new one is published to the page."""

    def __init__(self, publish: Callable[[JSON], None], *, keep: int = KEEP) -> None:
        self._publish = publish
        self._entries: deque[Activity] = deque(maxlen=keep)
        self.totals = Totals()

    def add(self, entry: Activity) -> None:
        """Keep, count and publish one activity."""
        self._entries.append(entry)
        totals = self.totals
        if entry.source == "discord":
            totals.discord += 1
            totals.rate_limited += entry.status == 429
        elif entry.source == "upstream":
            totals.upstream += 1
            totals.upstream_failed += entry.status is None or entry.status >= 400
        self._publish({"type": "activity", "entry": entry.json(), "totals": asdict(totals)})

    def snapshot(self) -> JSON:
        """Everything kept, oldest first, with the totals (the page's first view)."""
        return {"entries": [e.json() for e in self._entries], "totals": asdict(self.totals)}

    def discord_request(
        self, method: str, route: str | None, path: str, status: int, seconds: float, wall: float
    ) -> None:
        """A REST call the bot made to the local Discord (a 429 is a rate-limit hit)."""
        target = route or path
        note = ROUTE_NAMES.get((method, target), "")
        if status == 429:
            note = "rate limited: discord.py waits and retries"
        self.add(Activity("discord", method, target, status, seconds * 1000, wall, note))

    def gateway_event(self, event: str, note: str) -> None:
        """An event the local Discord sent the bot over the gateway."""
        self.add(Activity("gateway", "EVENT", event, None, None, time.time(), note))

    def trace_config(self) -> aiohttp.TraceConfig:
        """Hooks for the engine's ``aiohttp.ClientSession``: one activity per upstream request."""
        trace = aiohttp.TraceConfig()

        async def started(
            _: aiohttp.ClientSession, ctx: SimpleNamespace, __: aiohttp.TraceRequestStartParams
        ) -> None:
            ctx.started = time.monotonic()

        async def ended(
            _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
        ) -> None:
            self._upstream(ctx, params.method, params.url, params.response.status, "")

        async def failed(
            _: aiohttp.ClientSession,
            ctx: SimpleNamespace,
            params: aiohttp.TraceRequestExceptionParams,
        ) -> None:
            self._upstream(ctx, params.method, params.url, None, type(params.exception).__name__)

        trace.on_request_start.append(started)
        trace.on_request_end.append(ended)
        trace.on_request_exception.append(failed)
        return trace

    def _upstream(
        self, ctx: SimpleNamespace, method: str, url: URL, status: int | None, note: str
    ) -> None:
        started = getattr(ctx, "started", None)
        ms = None if started is None else (time.monotonic() - started) * 1000
        default_port = {"http": 80, "https": 443}.get(url.scheme)
        host = url.host or ""
        if url.port is not None and url.port != default_port:
            host = f"{host}:{url.port}"
        target = f"{host}{url.path}"
        self.add(Activity("upstream", method, target, status, ms, time.time(), note))
