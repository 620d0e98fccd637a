"""The activity panel's record: upstream requests seen through the engine's HTTP session (hosts
and paths only, never query strings), Discord calls from the feed, and the totals."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.playground.activity import KEEP, ActivityLog

Published = list[dict[str, Any]]


async def test_upstream_requests_are_recorded_without_query_strings() -> None:
    published: Published = []
    log = ActivityLog(published.append)

    async def image(request: web.Request) -> web.Response:
        return web.Response(status=int(request.query.get("status", "200")))

    app = web.Application()
    app.router.add_get("/v1/images/{name}", image)
    async with (
        TestServer(app, host="127.0.0.1") as server,
        aiohttp.ClientSession(trace_configs=[log.trace_config()]) as session,
    ):
        port = server.port
        for status in (200, 503):
            url = server.make_url(f"/v1/images/x.png?sig=secret&status={status}")
            async with session.get(url) as response:
                assert response.status == status
        try:
            async with session.get("http://127.0.0.1:9/unreachable?key=secret"):
                pass
        except aiohttp.ClientConnectionError:
            pass
    entries = log.snapshot()["entries"]
    assert [(e["method"], e["target"], e["status"]) for e in entries] == [
        ("GET", f"127.0.0.1:{port}/v1/images/x.png", 200),
        ("GET", f"127.0.0.1:{port}/v1/images/x.png", 503),
        ("GET", "127.0.0.1:9/unreachable", None),
    ]
    assert entries[2]["note"].startswith("Client")  # the connection error's kind
    assert all(e["ms"] is not None and e["ms"] >= 0 for e in entries)
    assert "secret" not in repr(published)
    assert log.snapshot()["totals"] == {
        "discord": 0,
        "rate_limited": 0,
        "upstream": 3,
        "upstream_failed": 2,
    }


def test_discord_calls_are_named_and_429s_counted() -> None:
    published: Published = []
    log = ActivityLog(published.append)
    route = "/webhooks/{application_id}/{token}/messages/{message_id}"
    log.discord_request("PATCH", route, "/api/v10/webhooks/1/abc/messages/2", 200, 0.002, 1.0)
    log.discord_request("PATCH", route, "/api/v10/webhooks/1/abc/messages/2", 429, 0.001, 2.0)
    log.gateway_event("INTERACTION_CREATE", "command imagine by alice")
    first, limited, event = log.snapshot()["entries"]
    assert first["note"] == "edit a response" and first["ms"] == 2.0
    assert limited["note"].startswith("rate limited")
    assert event["source"] == "gateway" and event["status"] is None
    assert log.totals.discord == 2 and log.totals.rate_limited == 1
    assert [p["type"] for p in published] == ["activity"] * 3
    assert published[1]["totals"]["rate_limited"] == 1


def test_only_the_latest_activities_are_kept() -> None:
    log = ActivityLog(lambda event: None)
    for i in range(KEEP + 5):
        log.gateway_event("INTERACTION_CREATE", str(i))
    notes = [e["note"] for e in log.snapshot()["entries"]]
    assert len(notes) == KEEP and notes[0] == "5" and notes[-1] == str(KEEP + 4)
