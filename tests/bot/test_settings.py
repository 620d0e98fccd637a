"""Settings: the contract names, the provider default, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = [
    "DISCORD_TOKEN",
    "IMAGE_PROVIDER",
    "IMAGE_API_BASE_URL",
    "IMAGE_API_KEY",
    "IMAGE_MODEL",
    "DATABASE_URL",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("DISCORD_", "IMAGE_", "DATABASE_", "PROVIDERS__", "TOAPIS_")):
            monkeypatch.delenv(name)


def test_without_a_key_the_sandbox_is_the_default() -> None:
    settings = load_settings(_env_file=None)
    assert settings.provider == "sandbox" and settings.sandbox
    assert settings.image_api_base_url == "https://toapis.com"
    assert settings.image_model == "gpt-image-2"
    assert settings.database_url.get_secret_value().startswith("sqlite:///data/")


def test_with_a_key_toapis_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_API_KEY", "sk-test-123")
    settings = load_settings(_env_file=None)
    assert settings.provider == "toapis"
    assert "sk-test-123" not in repr(settings)
    assert settings.require_image_api_key().get_secret_value() == "sk-test-123"


def test_toapis_without_a_key_names_the_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_PROVIDER", "toapis")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "IMAGE_API_KEY"


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_API_BASE_URL", "toapis.com")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "IMAGE_API_BASE_URL"


def test_env_example_lists_every_setting() -> None:
    from bot.settings import Settings

    example = (ROOT / ".env.example").read_text()
    names = {
        line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line
    }
    names |= {name.split("__")[0] for name in names}  # PROVIDERS__<NAME>__API_KEY documents it
    expected = {field.upper() for field in Settings.model_fields}
    assert expected <= names, sorted(expected - names)
    assert set(CONTRACT) <= names


def run_bot_module(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "IMAGE_", "DATABASE_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_setting_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = run_bot_module(
        "check", env={"IMAGE_PROVIDER": "dall-e", "DATABASE_URL": f"sqlite:///{tmp_path}/db"}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "IMAGE_PROVIDER" in lines[0]
    assert "Traceback" not in result.stderr


def test_running_the_bot_without_a_token_exits_2_naming_it(tmp_path: Path) -> None:
    # `run` is explicit (Docker, services): without a token it fails; bare `python -m bot` would
    # open the playground instead (tests/bot/playground/test_entry.py).
    result = run_bot_module(
        "run", env={"DISCORD_TOKEN": "", "DATABASE_URL": f"sqlite:///{tmp_path}/db"}
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DISCORD_TOKEN" in result.stderr


def test_a_postgresql_url_selects_the_shared_store_and_never_shows_its_password() -> None:
    url = "postgresql://easel:hunter2@db:5432/easel"
    settings = load_settings(_env_file=None, database_url=url)
    assert settings.database_path is None and settings.database_url.get_secret_value() == url
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert settings.state_dir == Path("data")  # stored images: a volume every process mounts


def test_a_bad_database_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, database_url="mysql://root:hunter2@db/easel")
    assert caught.value.setting == "DATABASE_URL" and "postgresql://" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, database_url="postgresql://root:hunter2@db:54x2/easel")
    assert caught.value.setting == "DATABASE_URL" and "port" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_heartbeat_slower_than_half_a_lease_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, job_lease_seconds=10, job_heartbeat_seconds=6)
    assert caught.value.setting == "JOB_HEARTBEAT_SECONDS" and "JOB_LEASE_SECONDS" in str(
        caught.value
    )
