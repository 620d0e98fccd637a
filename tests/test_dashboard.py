"""The Grafana dashboard in docs/ only charts metrics the bot really serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp

from bot.client_metrics import DiscordMetrics
from bot.ops.metrics import Metrics
from bot.ops.server import Readiness
from bot.sandbox.server import Sandbox
from tests.support.engines import running_engine
from tests.support.providers import toapis_provider

DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


async def served_names(tmp_path: Path) -> set[str]:
    """Every sample name the bot's registry produces (counters with ``_total``, histograms too)."""
    metrics = Metrics()
    DiscordMetrics(metrics.registry, Readiness())
    names = set()
    async with Sandbox() as sandbox, aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        async with running_engine(provider, tmp_path) as engine:
            metrics.watch_engine(engine)
            for family in metrics.registry.collect():
                names.add(family.name)
                names.update(family.name + suffix for suffix in SUFFIXES)
    return names


async def test_every_query_names_a_served_metric(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b(?:easel|process)_[a-z_]+", expr)}

    assert exprs and used
    assert used - await served_names(tmp_path) == set()


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        grid = panel["gridPos"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, panel["title"]
        cells |= area
