"""Provider settings: the issue-2 names work as before, new names add providers and failover."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import ProviderName, load_settings

PREFIXES = ("DISCORD_", "IMAGE_", "DATABASE_", "TOAPIS_", "INFINITYBLUE_", "STARRISE_")
PREFIXES += ("ANYFAST_", "OPENAI_", "SANDBOX_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)


def test_the_issue_2_names_configure_toapis_exactly_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGE_API_KEY", "sk-toapis")
    monkeypatch.setenv("IMAGE_MODEL", "gpt-image-2-vip")
    monkeypatch.setenv("IMAGE_API_BASE_URL", "https://relay.example/v1/")
    settings = load_settings(_env_file=None)
    assert settings.provider_names == [ProviderName.TOAPIS]
    config = settings.provider_config(ProviderName.TOAPIS)
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-toapis"
    assert config.base_url == "https://relay.example/v1"
    assert config.model == "gpt-image-2-vip" and config.edit_model == "gpt-image-2-official"


def test_the_issue_2_names_configure_another_primary_without_toapis_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGE_PROVIDER", "openai")
    monkeypatch.setenv("IMAGE_API_KEY", "sk-openai")
    monkeypatch.setenv("IMAGE_API_BASE_URL", "https://toapis.com")  # copied from .env.example
    config = load_settings(_env_file=None).provider_config(ProviderName.OPENAI)
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-openai"
    assert config.base_url is None and config.model is None  # the profile's own
    assert config.edit_model is None


def test_per_provider_names_win_over_the_issue_2_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_PROVIDER", "starrise")
    monkeypatch.setenv("IMAGE_API_KEY", "sk-generic")
    monkeypatch.setenv("STARRISE_API_KEY", "sk-starrise")
    monkeypatch.setenv("STARRISE_MODEL", "gpt-image-2-c")
    monkeypatch.setenv("STARRISE_BASE_URL", "http://127.0.0.1:5000")
    config = load_settings(_env_file=None).provider_config(ProviderName.STARRISE)
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-starrise"
    assert (config.base_url, config.model) == ("http://127.0.0.1:5000", "gpt-image-2-c")


def test_image_providers_lists_the_failover_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_PROVIDERS", "OpenAI, starrise ,toapis")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-1")
    monkeypatch.setenv("STARRISE_API_KEY", "sk-2")
    monkeypatch.setenv("TOAPIS_API_KEY", "sk-3")
    settings = load_settings(_env_file=None)
    assert settings.provider is ProviderName.OPENAI
    assert settings.provider_names == ["openai", "starrise", "toapis"]
    assert "sk-2" not in repr(settings)
    assert settings.provider_config(ProviderName.TOAPIS).base_url is None  # profile: toapis.com


def test_a_toapis_key_of_its_own_picks_toapis_over_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOAPIS_API_KEY", "sk-3")
    assert load_settings(_env_file=None).provider is ProviderName.TOAPIS


@pytest.mark.parametrize(
    ("env", "setting", "words"),
    [
        ({"IMAGE_PROVIDERS": "openai,starrise", "OPENAI_API_KEY": "k"}, "STARRISE_API_KEY", ""),
        ({"IMAGE_PROVIDER": "infinityblue"}, "IMAGE_API_KEY", "INFINITYBLUE_API_KEY"),
        ({"IMAGE_PROVIDERS": "sandbox,openai", "OPENAI_API_KEY": "k"}, "IMAGE_PROVIDERS", "alone"),
        ({"IMAGE_PROVIDERS": "openai,openai", "OPENAI_API_KEY": "k"}, "IMAGE_PROVIDERS", "twice"),
        ({"IMAGE_PROVIDERS": "openai,dall-e"}, "IMAGE_PROVIDERS", ""),
        (
            {"IMAGE_PROVIDER": "toapis", "IMAGE_PROVIDERS": "openai", "OPENAI_API_KEY": "k"},
            "IMAGE_PROVIDER",
            "agree",
        ),
        ({"OPENAI_BASE_URL": "api.openai.com"}, "OPENAI_BASE_URL", "http"),
        ({"IMAGE_PARTIAL_IMAGES": "5"}, "IMAGE_PARTIAL_IMAGES", ""),
        ({"IMAGE_MODERATION": "off"}, "IMAGE_MODERATION", ""),
    ],
)
def test_a_provider_setup_that_cannot_work_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str, words: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting.startswith(setting), caught.value
    assert words in str(caught.value)


def test_a_bad_profiles_file_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text("[openai]\nmax_n = 50\n")
    monkeypatch.setenv("IMAGE_PROFILES_FILE", str(extra))
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "IMAGE_PROFILES_FILE" and "max_n" in str(caught.value)
