"""The benchmark's configuration: one server per shard at least, PostgreSQL for shard processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bench.models import BenchConfig
from bench.procs import split_cpus


def test_one_process_defaults_to_one_server_and_sqlite() -> None:
    config = BenchConfig(source=Path())
    assert (config.server_count, config.shards, config.store) == (1, 1, "sqlite")


def test_shard_processes_get_a_server_each_and_postgres() -> None:
    config = BenchConfig(source=Path(), shards=2)
    assert (config.server_count, config.store) == (2, "postgres")
    assert BenchConfig(source=Path(), shards=2, guilds=10).server_count == 10


def test_fewer_servers_than_shards_is_refused() -> None:
    with pytest.raises(ValidationError, match="use at least --guilds 3 with --shards 3"):
        BenchConfig(source=Path(), shards=3, guilds=2)


def test_shard_processes_cannot_share_a_sqlite_file() -> None:
    with pytest.raises(ValidationError, match="share one PostgreSQL"):
        BenchConfig(source=Path(), shards=2, store="sqlite")
    assert BenchConfig(source=Path(), shards=2, floor=True, store="sqlite").floor


def test_the_database_url_stays_out_of_the_json() -> None:
    config = BenchConfig(source=Path(), database_url="postgresql://u:secret@db/easel")
    assert "secret" not in config.model_dump_json()


@pytest.mark.parametrize(
    ("bots", "cpus", "mine", "others"),
    [
        (1, 2, [{0}], {1}),
        (2, 2, [{0}, {1}], {0, 1}),
        (3, 2, [{0}, {1}, {0}], {0, 1}),
        (2, 4, [{0}, {1}], {2, 3}),
        (1, 1, [{0}], {0}),
    ],
)
def test_pinning_gives_each_bot_a_cpu_and_the_rest_what_is_left(
    bots: int, cpus: int, mine: list[set[int]], others: set[int]
) -> None:
    assert split_cpus(bots, cpus) == (mine, others)


def test_the_driver_runs_on_uvloop_unless_asked_for_asyncio() -> None:
    assert BenchConfig(source=Path()).driver_loop == "auto"
    assert BenchConfig(source=Path(), driver_loop="asyncio").driver_loop == "asyncio"
    with pytest.raises(ValidationError):
        BenchConfig(source=Path(), driver_loop="trio")  # type: ignore[arg-type]
