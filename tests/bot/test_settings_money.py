"""Money settings: the host's budget needs prices to be checked against, and one currency."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        ours = name.startswith(("DISCORD_", "IMAGE_", "DATABASE_", "PROVIDERS__", "GLOBAL_"))
        if ours or name.endswith("_API_KEY"):
            monkeypatch.delenv(name)


def profiles(tmp_path: Path, text: str) -> str:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return str(path)


def test_a_global_budget_is_an_exact_amount(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IMAGE_PROFILES_FILE", profiles(tmp_path, "[toapis]\nprice = 0.04\n"))
    monkeypatch.setenv("GLOBAL_MONTHLY_BUDGET", "250.10")
    monkeypatch.setenv("GLOBAL_DAILY_BUDGET", "")
    settings = load_settings(_env_file=None)
    assert settings.global_monthly_budget == Decimal("250.10")
    assert settings.global_daily_budget is None


def test_a_global_budget_without_prices_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GLOBAL_MONTHLY_BUDGET", "100")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "GLOBAL_MONTHLY_BUDGET"
    assert "prices are unknown" in caught.value.problem


def test_a_negative_budget_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBAL_DAILY_BUDGET", "-5")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "GLOBAL_DAILY_BUDGET"


def test_providers_that_bill_in_different_currencies_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IMAGE_PROFILES_FILE", profiles(tmp_path, '[openai]\ncurrency = "EUR"\n'))
    monkeypatch.setenv("IMAGE_PROVIDERS", "toapis,openai")
    monkeypatch.setenv("TOAPIS_API_KEY", "k1")
    monkeypatch.setenv("OPENAI_API_KEY", "k2")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "IMAGE_PROFILES_FILE"
    assert "toapis USD, openai EUR" in caught.value.problem
