"""Naming why a connection failed, from real failures against servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.network import NetworkCause, network_cause

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that runs ``handler`` per connection; yields its port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def failure_of(url: str, *, timeout: float = 5.0, **session: Any) -> NetworkCause:
    async with aiohttp.ClientSession(**session) as client:
        try:
            async with client.get(url, timeout=aiohttp.ClientTimeout(total=timeout)):
                pass
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return network_cause(exc, timeout=timeout)
    raise AssertionError(f"{url} answered")


async def test_nothing_listening_is_connection_refused(unused_tcp_port: int) -> None:
    cause = await failure_of(f"http://127.0.0.1:{unused_tcp_port}/")

    assert cause.kind == "refused"
    assert f"nothing listens on 127.0.0.1:{unused_tcp_port}" in cause.text


class _NoSuchName(AbstractResolver):
    """A resolver that knows no name, as a DNS server answers for a misspelled host."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_a_name_that_does_not_resolve_is_dns() -> None:
    connector = aiohttp.TCPConnector(resolver=_NoSuchName())

    cause = await failure_of("https://discord.example/api", connector=connector)

    assert cause.kind == "dns"
    assert "'discord.example' does not resolve" in cause.text
    assert "Name or service not known" in cause.text


async def test_tls_to_a_plain_http_server_is_a_tls_failure() -> None:
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        cause = await failure_of(f"https://127.0.0.1:{port}/")
    finally:
        await runner.cleanup()

    assert cause.kind == "tls"
    assert "TLS handshake failed" in cause.text


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    async with raw_server(silent) as port:
        cause = await failure_of(f"http://127.0.0.1:{port}/", timeout=0.3)

    assert cause == NetworkCause("timeout", "no answer after 0.3 s (timed out)")


async def test_a_server_that_hangs_up_is_disconnected() -> None:
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    async with raw_server(rude) as port:
        cause = await failure_of(f"http://127.0.0.1:{port}/")

    assert cause.kind == "disconnected"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (ValueError("odd"), "network"),
    ],
)
def test_plain_exceptions_still_get_a_kind(exc: BaseException, kind: str) -> None:
    assert network_cause(exc).kind == kind
