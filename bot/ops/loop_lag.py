"""Event-loop lag and peak memory: for ``/metrics`` and for benchmarks (``METRICS_FILE``).

A task sleeps ``SAMPLE_INTERVAL`` and records how late it wakes. Each sample goes to ``on_lag``
(the Prometheus histogram) and, with a path, to a JSON summary a benchmark reads: it drives the
bot as a subprocess, so it cannot look inside its event loop. The file is rewritten every few
seconds (a SIGKILL still leaves recent data) and once more on shutdown. No discord import: the
engine, the CLI and tests can use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from bot.lifecycle import Stoppable

log = logging.getLogger(__name__)

SAMPLE_INTERVAL = 0.1  # seconds between lag samples
WRITE_INTERVAL = 5.0  # seconds between rewrites of the metrics file


class LagSummary(BaseModel):
    """Event-loop lag percentiles, in milliseconds."""

    p50: float
    p95: float
    p99: float
    max: float


class MetricsReport(BaseModel):
    """What ``METRICS_FILE`` holds (the benchmark reads it with this model)."""

    lag_ms: LagSummary
    peak_rss_mb: float
    samples: int
    written_at: float  # unix time, so a reader can tell a stale file from a fresh one
    final: bool  # True when written on a clean shutdown


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``ru_maxrss`` is KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class LagHistogram:
    """Lag samples kept as a sparse histogram, so a bot that runs for weeks stays bounded.

    Resolution is 0.1 ms below 100 ms and 1 ms above, plenty for p99 targets in tens of ms.
    """

    def __init__(self) -> None:
        self._counts: Counter[float] = Counter()
        self.samples = 0
        self.max_ms = 0.0

    def add(self, lag_ms: float) -> None:
        """Record one sample (negative lag, an early wake-up, counts as zero)."""
        lag_ms = max(0.0, lag_ms)
        key = round(lag_ms, 1) if lag_ms < 100 else float(round(lag_ms))
        self._counts[key] += 1
        self.samples += 1
        self.max_ms = max(self.max_ms, lag_ms)

    def percentile(self, q: float) -> float:
        """The smallest recorded lag with at least ``q`` percent of samples at or below it."""
        if not self.samples:
            return 0.0
        rank = max(1, math.ceil(self.samples * q / 100))
        seen = 0
        for value in sorted(self._counts):
            seen += self._counts[value]
            if seen >= rank:
                return value
        return self.max_ms

    def summary(self) -> LagSummary:
        """p50/p95/p99/max in milliseconds."""
        return LagSummary(
            p50=self.percentile(50),
            p95=self.percentile(95),
            p99=self.percentile(99),
            max=round(self.max_ms, 1),
        )


class LoopLagMonitor(Stoppable):
    """Samples how late the event loop wakes a sleeping task (scheduled vs actual wake-up).

    With neither ``path`` nor ``on_lag`` it does nothing, so callers need no branch: ``async with
    LoopLagMonitor(settings.metrics_file, on_lag=...):``. ``on_lag`` gets each sample in seconds.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        on_lag: Callable[[float], None] | None = None,
        interval: float = SAMPLE_INTERVAL,
        write_interval: float = WRITE_INTERVAL,
        rss: Callable[[], float] = peak_rss_mb,
    ) -> None:
        self.path = path
        self.on_lag = on_lag
        self.interval = interval
        self.write_interval = write_interval
        self.histogram = LagHistogram()
        self._rss = rss
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling on the running loop (no-op with nothing to report to, or running)."""
        if (self.path is None and self.on_lag is None) or self._task is not None:
            return
        self._task = asyncio.create_task(self._sample(), name="loop-lag-monitor")
        if self.path is not None:
            log.info("writing loop-lag and memory metrics to %s", self.path)

    async def stop(self) -> None:
        """Stop sampling and write the final report."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._write(final=True)

    async def _enter(self) -> None:
        self.start()

    def report(self, *, final: bool = False) -> MetricsReport:
        """The current figures."""
        return MetricsReport(
            lag_ms=self.histogram.summary(),
            peak_rss_mb=round(self._rss(), 1),
            samples=self.histogram.samples,
            written_at=time.time(),
            final=final,
        )

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        next_write = loop.time() + self.write_interval
        while True:
            scheduled = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            now = loop.time()
            lag = max(0.0, now - scheduled)
            self.histogram.add(lag * 1000)
            if self.on_lag is not None:
                self.on_lag(lag)
            if now >= next_write:
                next_write = now + self.write_interval
                await self._write(final=False)

    async def _write(self, *, final: bool) -> None:
        if self.path is None:
            return
        text = self.report(final=final).model_dump_json(indent=2)
        try:
            await asyncio.to_thread(_replace_file, self.path, text)
        except OSError:
            log.warning("could not write metrics to %s", self.path, exc_info=True)


def _replace_file(path: Path, text: str) -> None:
    """Write atomically, so a reader (or a SIGKILL) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
