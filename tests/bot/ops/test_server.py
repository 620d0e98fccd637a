"""The health and metrics server: probes answer over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.errors import ConfigError
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer, Readiness, serving


@pytest.fixture
async def server() -> AsyncIterator[OpsServer]:
    ops = OpsServer(Metrics(), Readiness(check_timeout=0.2), host="127.0.0.1", port=0)
    await ops.start()
    try:
        yield ops
    finally:
        await ops.stop()


async def get(server: OpsServer, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, response.content_type, await response.text()


async def get_json(server: OpsServer, path: str) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, await response.json()


async def test_healthz_answers_while_the_loop_runs(server: OpsServer) -> None:
    assert await get_json(server, "/healthz") == (200, {"status": "ok"})


async def test_readyz_is_503_with_every_reason_until_nothing_blocks(server: OpsServer) -> None:
    server.readiness.block("discord", "not connected to Discord yet")
    server.readiness.block("shutdown", "shutting down")

    status, body = await get_json(server, "/readyz")
    assert status == 503
    assert body == {
        "status": "not ready",
        "reasons": {"discord": "not connected to Discord yet", "shutdown": "shutting down"},
    }

    server.readiness.unblock("discord")
    server.readiness.unblock("shutdown")
    assert await get_json(server, "/readyz") == (200, {"status": "ready"})


async def test_a_failing_or_slow_check_makes_readyz_503_naming_it(server: OpsServer) -> None:
    async def broken() -> None:
        raise OSError("disk I/O error")

    async def stuck() -> None:
        await asyncio.sleep(10)

    server.readiness.add_check("database", broken)
    server.readiness.add_check("cache", stuck)

    status, body = await get_json(server, "/readyz")

    assert status == 503
    assert body == {
        "status": "not ready",
        "reasons": {"database": "OSError: disk I/O error", "cache": "did not answer within 0.2 s"},
    }
    server.readiness.remove_check("database")
    server.readiness.remove_check("cache")
    assert (await get_json(server, "/readyz"))[0] == 200


async def test_metrics_are_served_in_the_prometheus_text_format(server: OpsServer) -> None:
    server.metrics.jobs_accepted.labels("imagine").inc(3)

    status, content_type, text = await get(server, "/metrics")

    assert status == 200
    assert content_type == "text/plain"
    families = {family.name: family for family in text_string_to_metric_families(text)}
    [sample] = families["easel_jobs_accepted"].samples
    assert (sample.labels, sample.value) == ({"kind": "imagine"}, 3.0)


async def test_a_port_in_use_is_a_configuration_error_naming_http_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ops = OpsServer(Metrics(), Readiness(), host="127.0.0.1", port=port)

        with pytest.raises(ConfigError) as caught:
            await ops.start()

    assert caught.value.setting == "HTTP_PORT"
    assert f"{port} on 127.0.0.1 is in use" in str(caught.value)
    assert "0 to turn" in str(caught.value)


async def test_port_0_turns_the_server_off() -> None:
    async with serving(Metrics(), Readiness(), host="127.0.0.1", port=0) as server:
        assert server is None
