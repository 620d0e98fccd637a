"""Reaching Discord before logging in: the token checked against the local Discord's REST API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.discord_login import (
    BACKOFF_CAP,
    DiscordUnreachableError,
    TokenRejectedError,
    backoff_delay,
    fetch_bot_user,
    users_me_url,
    wait_for_discord,
)
from local_discord import LocalDiscord


@pytest.fixture
async def ld() -> AsyncIterator[LocalDiscord]:
    async with LocalDiscord() as discord:
        yield discord


async def test_a_valid_token_names_the_bot_it_belongs_to(ld: LocalDiscord) -> None:
    user = await fetch_bot_user(SecretStr(ld.bot_token), api_base=ld.api_base)

    assert (user.id, user.username, user.bot) == (ld.bot_user.id, "Easel", True)
    [request] = ld.requests_to("/users/@me", "GET")
    assert request.authorized and request.status == 200


async def test_a_wrong_token_is_rejected(ld: LocalDiscord) -> None:
    with pytest.raises(TokenRejectedError):
        await fetch_bot_user(SecretStr("not.the.token"), api_base=ld.api_base)


async def test_no_server_names_the_url_and_the_refusal(unused_tcp_port: int) -> None:
    api = f"http://127.0.0.1:{unused_tcp_port}/api/v10"

    with pytest.raises(DiscordUnreachableError) as caught:
        await fetch_bot_user(SecretStr("t"), api_base=api)

    assert caught.value.url == f"{api}/users/@me"
    assert caught.value.cause.kind == "refused"


async def test_a_server_error_or_a_foreign_answer_is_unreachable_not_a_bad_token() -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path.startswith("/down"):
            return web.Response(status=502, text="bad gateway")
        return web.Response(text="<html>captive portal</html>")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        with pytest.raises(DiscordUnreachableError, match="answered HTTP 502"):
            await fetch_bot_user(SecretStr("t"), api_base=f"{base}/down")
        with pytest.raises(DiscordUnreachableError, match="not Discord's"):
            await fetch_bot_user(SecretStr("t"), api_base=f"{base}/portal")
    finally:
        await runner.cleanup()


def test_discord_itself_is_asked_when_no_api_base_is_set() -> None:
    assert users_me_url(None) == "https://discord.com/api/v10/users/@me"
    assert users_me_url("http://127.0.0.1:9/api/v10/") == "http://127.0.0.1:9/api/v10/users/@me"


def test_the_backoff_doubles_from_two_seconds_and_stays_under_a_minute() -> None:
    delays = [backoff_delay(attempt, rand=lambda: 1.0) for attempt in range(1, 10)]

    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(delays) == BACKOFF_CAP
    assert backoff_delay(1, rand=lambda: 0.0) == pytest.approx(1.6)


async def test_waiting_logs_one_line_per_attempt_until_discord_answers(
    unused_tcp_port: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.discord_login.backoff_delay", lambda attempt: 0.05)
    ld = LocalDiscord()
    seen: list[str] = []

    async def open_later() -> None:
        while len(seen) < 2:
            await asyncio.sleep(0.01)
        await ld.start(port=unused_tcp_port)

    opener = asyncio.ensure_future(open_later())
    api = f"http://127.0.0.1:{unused_tcp_port}/api/v10"
    try:
        with caplog.at_level(logging.WARNING, logger="bot.discord_login"):
            user = await wait_for_discord(
                SecretStr(ld.bot_token),
                api_base=api,
                stopping=asyncio.Event(),
                on_unreachable=lambda exc: seen.append(exc.cause.kind),
            )
        await opener
    finally:
        await ld.stop()

    assert user is not None and user.id == ld.bot_user.id
    assert seen[:2] == ["refused", "refused"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(seen)
    assert lines[0].startswith(f"cannot reach Discord at {api}/users/@me: connection refused")
    assert "attempt 1, trying again in 0 s" in lines[0]
    assert all(r.exc_info is None for r in caplog.records)


async def test_stopping_ends_the_wait_without_an_answer(unused_tcp_port: int) -> None:
    stopping = asyncio.Event()
    waiter = asyncio.ensure_future(
        wait_for_discord(
            SecretStr("t"),
            api_base=f"http://127.0.0.1:{unused_tcp_port}/api/v10",
            stopping=stopping,
        )
    )
    await asyncio.sleep(0.1)  # the first attempt failed; it sleeps about two seconds now
    stopping.set()

    assert await asyncio.wait_for(waiter, 1.0) is None


async def test_a_rejected_token_stops_the_wait_at_once(ld: LocalDiscord) -> None:
    with pytest.raises(TokenRejectedError):
        await wait_for_discord(SecretStr("wrong"), api_base=ld.api_base, stopping=asyncio.Event())
