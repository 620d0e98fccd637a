"""Provider settings: the issue-2 names work as before, new names add providers and failover."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings

PREFIXES = ("DISCORD_", "IMAGE_", "DATABASE_", "TOAPIS_", "INFINITYBLUE_", "STARRISE_")
PREFIXES += ("ANYFAST_", "OPENAI_", "SANDBOX_", "PROVIDERS__", "MYGATEWAY_")


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
    assert settings.provider_names == ["toapis"]
    config = settings.provider_config("toapis")
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-toapis"
    assert config.base_url == "https://relay.example/v1"
    assert config.model == "gpt-image-2-vip" and config.edit_model == "gpt-image-2-official"


def test_the_issue_2_names_configure_another_primary_without_toapis_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGE_PROVIDER", "openai")
    monkeypatch.setenv("IMAGE_API_KEY", "sk-openai")
    monkeypatch.setenv("IMAGE_API_BASE_URL", "https://toapis.com")  # copied from .env.example
    config = load_settings(_env_file=None).provider_config("openai")
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-openai"
    assert config.base_url is None and config.model is None  # the profile's own
    assert config.edit_model is None


def test_per_provider_names_win_over_the_issue_2_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_PROVIDER", "starrise")
    monkeypatch.setenv("IMAGE_API_KEY", "sk-generic")
    monkeypatch.setenv("STARRISE_API_KEY", "sk-starrise")
    monkeypatch.setenv("STARRISE_MODEL", "gpt-image-2-c")
    monkeypatch.setenv("STARRISE_BASE_URL", "http://127.0.0.1:5000")
    config = load_settings(_env_file=None).provider_config("starrise")
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-starrise"
    assert (config.base_url, config.model) == ("http://127.0.0.1:5000", "gpt-image-2-c")


def test_image_providers_lists_the_failover_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_PROVIDERS", "OpenAI, starrise ,toapis")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-1")
    monkeypatch.setenv("STARRISE_API_KEY", "sk-2")
    monkeypatch.setenv("TOAPIS_API_KEY", "sk-3")
    settings = load_settings(_env_file=None)
    assert settings.provider == "openai"
    assert settings.provider_names == ["openai", "starrise", "toapis"]
    assert "sk-2" not in repr(settings)
    assert settings.provider_config("toapis").base_url is None  # profile: toapis.com


def test_a_toapis_key_of_its_own_picks_toapis_over_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOAPIS_API_KEY", "sk-3")
    assert load_settings(_env_file=None).provider == "toapis"


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


def test_the_nested_form_configures_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_PROVIDERS", "starrise")
    monkeypatch.setenv("PROVIDERS__STARRISE__API_KEY", "sk-nested")
    monkeypatch.setenv("PROVIDERS__STARRISE__BASE_URL", "http://127.0.0.1:5000/")
    monkeypatch.setenv("PROVIDERS__STARRISE__MODEL", "gpt-image-2-c")
    monkeypatch.setenv("PROVIDERS__STARRISE__EDIT_MODEL", "gpt-image-2")
    settings = load_settings(_env_file=None)
    config = settings.provider_config("starrise")
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-nested"
    assert (config.base_url, config.model) == ("http://127.0.0.1:5000", "gpt-image-2-c")
    assert config.edit_model == "gpt-image-2"
    assert "sk-nested" not in repr(settings)


def test_the_nested_name_wins_and_the_flat_names_fill_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGE_PROVIDERS", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-flat")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-image-1")
    monkeypatch.setenv("PROVIDERS__OPENAI__MODEL", "gpt-image-1.5")
    config = load_settings(_env_file=None).provider_config("openai")
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-flat"
    assert config.model == "gpt-image-1.5"


def test_both_forms_work_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "IMAGE_PROVIDERS=starrise,openai\nSTARRISE_API_KEY=sk-1\nSTARRISE_MODEL=\n"
        "PROVIDERS__OPENAI__API_KEY=sk-2\nPROVIDERS__OPENAI__BASE_URL=https://gw.example/v1\n"
    )
    settings = load_settings(_env_file=env_file)
    starrise, openai = (settings.provider_config(name) for name in ("starrise", "openai"))
    assert starrise.api_key is not None and starrise.model is None  # blank: the profile's
    assert openai.api_key is not None and openai.base_url == "https://gw.example/v1"


def test_a_profile_from_the_profiles_file_is_configured_by_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text(
        '[mygateway]\nlabel = "Mine"\nfamily = "openai"\nbase_url = "https://mine.example"\n'
    )
    monkeypatch.setenv("IMAGE_PROFILES_FILE", str(extra))
    monkeypatch.setenv("IMAGE_PROVIDERS", "mygateway,openai")
    monkeypatch.setenv("MYGATEWAY_API_KEY", "sk-mine")
    monkeypatch.setenv("MYGATEWAY_MODEL", "gpt-image-1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    settings = load_settings(_env_file=None)
    assert settings.provider == "mygateway" and settings.provider_names == ["mygateway", "openai"]
    config = settings.provider_config("mygateway")
    assert config.api_key is not None and config.api_key.get_secret_value() == "sk-mine"
    assert config.model == "gpt-image-1" and config.base_url is None  # the profile's URL


def test_unrelated_variables_that_look_like_provider_names_are_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_API_KEY", "ghp-not-ours")
    monkeypatch.setenv("SOMETHING_BASE_URL", "not a url")
    settings = load_settings(_env_file=None)
    assert settings.providers == {}
    assert settings.provider == "sandbox"


KNOWN = "toapis, infinityblue, starrise, anyfast, openai"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"IMAGE_PROVIDERS": "openai,bogus", "OPENAI_API_KEY": "k"},
            f"IMAGE_PROVIDERS: unknown provider 'bogus' (known: {KNOWN}, sandbox)",
        ),
        (
            {"IMAGE_PROVIDER": "dall-e"},
            f"IMAGE_PROVIDER: unknown provider 'dall-e' (known: {KNOWN}, sandbox)",
        ),
        (
            {"SANDBOX_API": "dalle"},
            f"SANDBOX_API: unknown provider 'dalle' (known: {KNOWN}, sandbox)",
        ),
        (
            {"PROVIDERS__STARISE__API_KEY": "k"},
            "PROVIDERS__STARISE__API_KEY: is not an Easel setting (set in the environment); "
            "did you mean PROVIDERS__STARRISE__API_KEY?",
        ),
        (
            {"PROVIDERS__OPENAI__APIKEY": "k"},
            "PROVIDERS__OPENAI__APIKEY: is not an Easel setting (set in the environment); "
            "did you mean PROVIDERS__OPENAI__API_KEY?",
        ),
        (
            {"OPENAI_BASE_URL": "api.openai.com"},
            "OPENAI_BASE_URL: must start with http:// or https:// (got 'api.openai.com')",
        ),
        (
            {"PROVIDERS__OPENAI__BASE_URL": "api.openai.com"},
            "PROVIDERS__OPENAI__BASE_URL: must start with http:// or https:// "
            "(got 'api.openai.com')",
        ),
        (
            {"IMAGE_API_BASE_URL": "toapis.com"},
            "IMAGE_API_BASE_URL: must start with http:// or https:// (got 'toapis.com')",
        ),
        ({"IMAGE_PARTIAL_IMAGES": "5"}, "IMAGE_PARTIAL_IMAGES: must be at most 3 (got '5')"),
        ({"IMAGE_MODERATION": "off"}, "IMAGE_MODERATION: must be 'auto' or 'low' (got 'off')"),
        (
            {"MAX_CONCURRENT_JOBS": "many"},
            "MAX_CONCURRENT_JOBS: must be a whole number (got 'many')",
        ),
        (
            {"IMAGE_PROVIDERS": "openai,openai", "OPENAI_API_KEY": "k"},
            "IMAGE_PROVIDERS: names 'openai' twice",
        ),
        (
            {"IMAGE_PROVIDERS": "bogus,openai", "OPENAI_API_KEY": "k"},
            f"IMAGE_PROVIDERS: unknown provider 'bogus' (known: {KNOWN}, sandbox)",
        ),
        (
            {"IMAGE_PROVIDERS": "openai"},
            "OPENAI_API_KEY: is not set but IMAGE_PROVIDERS lists openai "
            "(or IMAGE_API_KEY, for the first one).",
        ),
    ],
)
def test_a_setting_error_names_the_variable_and_the_value_in_plain_words(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value) == message
    assert "Value error" not in message and "Input should" not in message


def test_a_bad_key_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDERS__OPENAI__API_KEY", "sk-secret")
    monkeypatch.setenv("PROVIDERS__OPENAI__API_KEYS", "sk-secret-2")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "PROVIDERS__OPENAI__API_KEYS"
    assert "sk-secret" not in str(caught.value)
