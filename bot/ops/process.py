"""The operations side of one bot process: metrics, readiness, their HTTP server, loop lag.

Started first and stopped last, so ``/healthz`` answers while the database migrates and
``/readyz`` can say "shutting down" while jobs are put away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.ops.loop_lag import LoopLagMonitor
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer, Readiness, serving
from bot.settings import Settings

SHUTDOWN = "shutdown"  # the readiness blocker set once the process is stopping


@dataclass
class Ops:
    """What the runtime and the bot feed: the metrics, the readiness, the server (if on)."""

    metrics: Metrics
    readiness: Readiness
    server: OpsServer | None

    def stopping(self) -> None:
        """From now on ``/readyz`` says the process is shutting down."""
        self.readiness.block(SHUTDOWN, "shutting down")


@asynccontextmanager
async def running_ops(settings: Settings) -> AsyncIterator[Ops]:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` (unless ``HTTP_PORT=0``) and sample the
    loop's lag (for ``/metrics``, and ``METRICS_FILE`` when set) while the block runs."""
    metrics, readiness = Metrics(), Readiness()
    async with (
        serving(metrics, readiness, host=settings.http_host, port=settings.http_port) as server,
        LoopLagMonitor(settings.metrics_file, on_lag=metrics.loop_lag.observe),
    ):
        yield Ops(metrics, readiness, server)
