"""SHARD_COUNT and SHARD_IDS: checked together, one clear line for each mistake."""

from __future__ import annotations

import os

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings
from bot.shards import ShardPlan


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SHARD_", "EVENT_LOOP", "IMAGE_", "DATABASE_")):
            monkeypatch.delenv(name)


def test_without_shard_settings_one_process_runs_every_recommended_shard() -> None:
    plan = load_settings(_env_file=None).shard_plan()
    assert plan == ShardPlan(None, None)
    assert plan.holds_first_shard and not plan.sharded
    assert plan.describe() == "every shard Discord recommends"


def test_shard_ids_are_read_as_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", " 3, 1 ")
    plan = load_settings(_env_file=None).shard_plan()
    assert plan == ShardPlan(4, (1, 3))
    assert plan.sharded and not plan.holds_first_shard
    assert plan.describe() == "shard(s) 1, 3 of 4"


def test_a_count_alone_runs_all_of_them_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "2")
    monkeypatch.setenv("SHARD_IDS", "")
    plan = load_settings(_env_file=None).shard_plan()
    assert plan == ShardPlan(2, None)
    assert plan.holds_first_shard and not plan.sharded
    assert plan.describe() == "all 2 shard(s)"


@pytest.mark.parametrize(
    ("env", "setting", "words"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS", "needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2,5"}, "SHARD_IDS", "has 2, 5, but shards are"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,1"}, "SHARD_IDS", "names a shard twice"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "zero"}, "SHARD_IDS", "like 0,1"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "-1"}, "SHARD_IDS", "like 0,1"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT", "must be at least 1"),
        ({"EVENT_LOOP": "trio"}, "EVENT_LOOP", "'auto', 'asyncio' or 'uvloop'"),
    ],
)
def test_a_bad_shard_setting_names_the_setting_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str, words: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == setting
    assert words in str(caught.value)


def test_a_process_tells_operators_which_shards_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker row beside the lease owner names the shards (empty when unsharded)."""
    from bot.runtime import engine_config

    assert engine_config(load_settings(_env_file=None)).lease.shards == ""
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "2,0")
    assert engine_config(load_settings(_env_file=None)).lease.shards == "0,2"
