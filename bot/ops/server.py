"""The operations endpoint inside the bot process: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``GET /healthz``: 200 whenever the event loop runs (a blocked or dead loop cannot answer).
- ``GET /readyz``: 200 only when nothing blocks readiness (the gateway is connected, the
  database answers); otherwise 503 with a JSON body naming each reason.
- ``GET /metrics``: Prometheus text format (``bot.ops.metrics``).

It binds ``HTTP_HOST:HTTP_PORT`` (``127.0.0.1:8080`` by default; the container image sets
``0.0.0.0``); ``HTTP_PORT=0`` turns it off. Each process of a sharded deploy runs its own.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.errors import ConfigError
from bot.ops.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds a readiness check may take before it counts as failed

Check = Callable[[], Awaitable[None]]  # raises (or times out) when not ready


class Readiness:
    """Why the process is not ready to serve, if it is not.

    Events set and clear *blockers* (the gateway dropped, the bot is starting or stopping);
    *checks* run on every probe (the database answers a query within ``CHECK_TIMEOUT``).
    """

    def __init__(self, *, check_timeout: float = CHECK_TIMEOUT) -> None:
        self._blockers: dict[str, str] = {}
        self._checks: dict[str, Check] = {}
        self.check_timeout = check_timeout

    def block(self, name: str, reason: str) -> None:
        """Not ready because of ``name`` until ``unblock(name)``."""
        self._blockers[name] = reason

    def unblock(self, name: str) -> None:
        """``name`` no longer keeps the process from being ready."""
        self._blockers.pop(name, None)

    def add_check(self, name: str, check: Check) -> None:
        """Run ``check`` on every probe; an exception or a timeout makes the process not ready."""
        self._checks[name] = check

    def remove_check(self, name: str) -> None:
        """Stop running a check (its resource is closing)."""
        self._checks.pop(name, None)

    async def reasons(self) -> dict[str, str]:
        """Everything that keeps the process from being ready, by name (empty: ready)."""
        reasons = dict(self._blockers)
        checks = list(self._checks.items())
        results = await asyncio.gather(*(self._run(check) for _, check in checks))
        for (name, _), failure in zip(checks, results, strict=True):
            if failure is not None and name not in reasons:
                reasons[name] = failure
        return reasons

    async def _run(self, check: Check) -> str | None:
        try:
            async with asyncio.timeout(self.check_timeout):
                await check()
        except TimeoutError:
            return f"did not answer within {self.check_timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            return f"{type(exc).__name__}: {exc}"[:300]
        return None


class OpsServer:
    """A small aiohttp server for probes and scrapes."""

    def __init__(self, metrics: Metrics, readiness: Readiness, *, host: str, port: int) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The routes (tests serve them without binding a port)."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        """Bind and serve; a port in use is a configuration error naming ``HTTP_PORT``."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    "HTTP_PORT",
                    f"{self.port} on {self.host} is in use by another program: set HTTP_PORT "
                    "to a free port, or to 0 to turn the health and metrics server off.",
                ) from None
            raise ConfigError(
                "HTTP_HOST", f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc})"
            ) from None
        self._runner = runner
        if self.port == 0:  # tests: the port the system picked
            self.port = int(runner.addresses[0][1])
        log.info(
            "health and metrics at http://%s:%d (/healthz, /readyz, /metrics)",
            self.host,
            self.port,
        )

    async def stop(self) -> None:
        """Stop serving."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        reasons = await self.readiness.reasons()
        if reasons:
            body: dict[str, Any] = {"status": "not ready", "reasons": reasons}
            return web.json_response(body, status=503)
        return web.json_response({"status": "ready"})

    async def _metrics(self, _: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


@asynccontextmanager
async def serving(
    metrics: Metrics, readiness: Readiness, *, host: str, port: int
) -> AsyncIterator[OpsServer | None]:
    """Serve while the block runs; ``port=0`` means off (yields None)."""
    if port == 0:
        log.info("health and metrics server off (HTTP_PORT=0)")
        yield None
        return
    server = OpsServer(metrics, readiness, host=host, port=port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
