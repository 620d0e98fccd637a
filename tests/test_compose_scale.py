"""compose.scale.yaml is compose.yaml scaled out: one PostgreSQL and one service per shard, each
a valid shard process of the same bot, with the single service's image, volume and checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.settings import load_settings
from bot.state_paths import CONTAINER_DATA_DIR

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def shard_services() -> dict[str, dict[str, Any]]:
    services = load("compose.scale.yaml")["services"]
    return {name: s for name, s in services.items() if "SHARD_IDS" in s.get("environment", {})}


def test_every_shard_is_run_once_by_one_service_of_the_same_count() -> None:
    shards = shard_services()
    counts = {int(s["environment"]["SHARD_COUNT"]) for s in shards.values()}
    assert len(counts) == 1, "every process of the bot must name the same SHARD_COUNT"
    ids = sorted(int(s["environment"]["SHARD_IDS"]) for s in shards.values())
    assert ids == list(range(counts.pop()))
    for service in shards.values():
        # Each one's settings are what the bot itself accepts (SHARD_IDS within SHARD_COUNT).
        env = service["environment"]
        plan = load_settings(
            _env_file=None, shard_count=env["SHARD_COUNT"], shard_ids=env["SHARD_IDS"]
        ).shard_plan()
        assert plan.sharded


def test_the_shards_share_one_postgresql_and_one_volume() -> None:
    compose = load("compose.scale.yaml")
    postgres = compose["services"]["postgres"]
    assert postgres["healthcheck"]["test"], "the shards wait until PostgreSQL answers"
    for service in shard_services().values():
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://") and "@postgres:5432/" in url
        assert "${POSTGRES_PASSWORD" in url, "the password comes from .env, never the file"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        volume, _, target = service["volumes"][0].partition(":")
        assert Path(target) == CONTAINER_DATA_DIR and volume in compose["volumes"]


def test_each_shard_runs_like_the_single_service() -> None:
    """Same project (so the same volume), image, health check, restarts, grace and logs."""
    single = load("compose.yaml")
    scaled = load("compose.scale.yaml")
    assert scaled["name"] == single["name"]
    easel = single["services"]["easel"]
    ports = set()
    for service in shard_services().values():
        for key in ("build", "image", "env_file", "healthcheck", "restart", "logging"):
            assert service[key] == easel[key], key
        assert service["stop_grace_period"] == easel["stop_grace_period"]
        (port,) = service["ports"]
        assert port.startswith("127.0.0.1:"), "metrics for this machine only"
        ports.add(port.split(":")[1])
    assert len(ports) == len(shard_services()), "each shard's health port on its own host port"
