"""Reach Discord before logging in: validate the token with one REST call and say what is wrong.

``python -m bot check`` uses it to tell a host whether the token works; the bot uses it at start
to wait for Discord with a bounded backoff, one log line per attempt naming the URL and the cause
(DNS, refused, TLS, timeout), instead of a traceback. No discord.py here: plain aiohttp against
``GET /users/@me``, the call discord.py itself logs in with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import aiohttp
from pydantic import BaseModel, SecretStr, ValidationError

from bot.network import NetworkCause, network_cause

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://discord.com/api/v10"
REQUEST_TIMEOUT = 10.0
BACKOFF_FIRST = 2.0  # seconds before the second attempt at start
BACKOFF_CAP = 60.0  # never more than a minute between attempts; retried until stopped


class BotUser(BaseModel):
    """The part of ``GET /users/@me`` worth showing: who the token belongs to."""

    id: int
    username: str
    bot: bool = False


class TokenRejectedError(Exception):
    """Discord answered 401: the token is wrong, reset or revoked."""


class DiscordUnreachableError(Exception):
    """No usable answer from Discord's API: the URL and why (``cause``)."""

    def __init__(self, url: str, cause: NetworkCause) -> None:
        super().__init__(f"cannot reach Discord at {url}: {cause.text}")
        self.url = url
        self.cause = cause


def users_me_url(api_base: str | None) -> str:
    """``GET /users/@me`` at ``DISCORD_API_BASE`` (Discord's own API when unset)."""
    return f"{(api_base or DEFAULT_API_BASE).rstrip('/')}/users/@me"


async def fetch_bot_user(
    token: SecretStr,
    *,
    api_base: str | None = None,
    request_timeout: float = REQUEST_TIMEOUT,
    session: aiohttp.ClientSession | None = None,
) -> BotUser:
    """Who ``token`` logs in as; raises ``TokenRejectedError`` or ``DiscordUnreachableError``."""
    url = users_me_url(api_base)
    headers = {"Authorization": f"Bot {token.get_secret_value()}"}
    async with contextlib.AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(aiohttp.ClientSession())
        try:
            async with session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=request_timeout)
            ) as response:
                status = response.status
                body = await response.read() if status == 200 else b""
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DiscordUnreachableError(url, network_cause(exc, timeout=request_timeout)) from exc
    if status == 401:
        raise TokenRejectedError("Discord answered 401 Unauthorized")
    if status != 200:
        cause = NetworkCause("http", f"Discord answered HTTP {status}")
        raise DiscordUnreachableError(url, cause)
    try:
        return BotUser.model_validate_json(body)
    except ValidationError:
        cause = NetworkCause("http", "the answer is not Discord's (not a user object)")
        raise DiscordUnreachableError(url, cause) from None


def backoff_delay(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempt + 1``: doubling from 2 s, capped at a minute, jittered."""
    base: float = min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** max(0, attempt - 1))
    return base * (0.8 + 0.2 * rand())


async def wait_for_discord(
    token: SecretStr,
    *,
    api_base: str | None,
    stopping: asyncio.Event,
    on_unreachable: Callable[[DiscordUnreachableError], None] = lambda _: None,
    request_timeout: float = REQUEST_TIMEOUT,
) -> BotUser | None:
    """Try until Discord answers; None when ``stopping`` was set first.

    One warning line per failed attempt, with the URL and the cause. There is no give-up: a
    service that exits restarts into the same wait, and meanwhile ``/readyz`` says why
    (``on_unreachable``). A rejected token raises ``TokenRejectedError`` at once.
    """
    attempt = 0
    async with aiohttp.ClientSession() as session:
        while not stopping.is_set():
            try:
                return await fetch_bot_user(
                    token, api_base=api_base, request_timeout=request_timeout, session=session
                )
            except DiscordUnreachableError as exc:
                attempt += 1
                delay = backoff_delay(attempt)
                log.warning(
                    "cannot reach Discord at %s: %s; attempt %d, trying again in %.0f s",
                    exc.url,
                    exc.cause.text,
                    attempt,
                    delay,
                )
                on_unreachable(exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
    return None
