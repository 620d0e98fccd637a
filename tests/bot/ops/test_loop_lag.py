"""Event-loop lag: sampled once for /metrics and for the benchmark's METRICS_FILE alike."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.ops.loop_lag import LagHistogram, LoopLagMonitor, MetricsReport


async def test_a_blocked_loop_shows_up_in_the_samples_handed_to_on_lag() -> None:
    samples: list[float] = []
    async with LoopLagMonitor(None, on_lag=samples.append, interval=0.01):
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # noqa: TID251 - blocking the loop on purpose is what is measured
        await asyncio.sleep(0.05)

    assert len(samples) >= 3
    assert max(samples) >= 0.15
    assert min(samples) >= 0.0


async def test_the_report_file_is_written_and_marked_final_on_stop(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    async with LoopLagMonitor(path, interval=0.01, write_interval=0.02):
        await asyncio.sleep(0.1)
        interim = MetricsReport.model_validate_json(path.read_text())
        assert not interim.final and interim.samples > 0

    report = MetricsReport.model_validate_json(path.read_text())
    assert report.final and report.samples >= interim.samples


async def test_with_nowhere_to_report_it_starts_no_task() -> None:
    monitor = LoopLagMonitor(None)
    async with monitor:
        await asyncio.sleep(0.02)
    assert monitor.histogram.samples == 0


def test_percentiles_come_from_the_bounded_histogram() -> None:
    histogram = LagHistogram()
    for ms in [1.0] * 98 + [50.0, 250.0]:
        histogram.add(ms)

    summary = histogram.summary()

    assert (summary.p50, summary.p95, summary.p99, summary.max) == (1.0, 1.0, 50.0, 250.0)
