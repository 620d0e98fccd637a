"""Strict settings: a misspelt name stops the start with a suggestion; choices read in any case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.env_names import prefixes
from bot.errors import ConfigError
from bot.settings import LogFormat, Settings, load_settings
from tests.support.cli import run_cli


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    starts = prefixes(Settings, ["toapis", "infinityblue", "starrise", "anyfast", "openai"])
    for name in list(os.environ):
        if name.upper().startswith(starts):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("IMAGE_PROVDER", "IMAGE_PROVIDER"),
        ("LOG_LEVL", "LOG_LEVEL"),
        ("HTTP_PROT", "HTTP_PORT"),
        ("DATA_DIRECTORY", "DATA_DIR"),
        ("OPENAI_APIKEY", "OPENAI_API_KEY"),
        ("STARISE_API_KEY", "STARRISE_API_KEY"),  # no Easel prefix, but a provider's name
        ("PROVIDERS__STARISE__API_KEY", "PROVIDERS__STARRISE__API_KEY"),
        ("providers__openai__modle", "PROVIDERS__OPENAI__MODEL"),
    ],
)
def test_a_misspelt_setting_is_an_error_naming_the_setting_meant(
    monkeypatch: pytest.MonkeyPatch, name: str, meant: str
) -> None:
    monkeypatch.setenv(name, "openai")

    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)

    assert caught.value.setting == name
    assert str(caught.value) == (
        f"{name}: is not an Easel setting (set in the environment); did you mean {meant}?"
    )


def test_a_name_with_an_easel_prefix_and_no_likeness_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGE_XYZZY", "1")
    with pytest.raises(ConfigError, match=r"IMAGE_XYZZY: .* see \.env\.example"):
        load_settings(_env_file=None)


def test_a_misspelt_name_in_the_env_file_says_so(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("SANDBOX_TASK_DURATON=3\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=env)

    assert f"(set in {env})" in str(caught.value)
    assert "did you mean SANDBOX_TASK_DURATION?" in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "HTTP_PROXY",  # proxies
        "http_proxy",
        "OPENAI_ORG_ID",  # the OpenAI SDK's own
        "EASEL_SERVICE_HOST",  # Kubernetes' links to a service named easel
        "EASEL_PORT_8080_TCP_ADDR",
        "IMAGE_PORT",  # … or to one named image
        "GITHUB_API_KEY",  # another tool's key, not like any provider's
        "PATH",
    ],
)
def test_other_softwares_variables_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, os.environ.get(name, "x"))
    load_settings(_env_file=None)


def test_a_profile_from_the_profiles_file_makes_its_names_known(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        '[openai_eu]\nlabel = "OpenAI EU"\nfamily = "openai"\n'
        'base_url = "https://eu.example"\nmodels = ["gpt-image-2"]\n'
    )
    monkeypatch.setenv("IMAGE_PROFILES_FILE", str(profiles))
    monkeypatch.setenv("IMAGE_PROVIDERS", "openai_eu")
    monkeypatch.setenv("OPENAI_EU_API_KEY", "k")  # starts with OPENAI_, and is this profile's

    settings = load_settings(_env_file=None)

    assert settings.provider_config("openai_eu").api_key is not None


@pytest.mark.parametrize(
    ("name", "given", "read"),
    [
        ("LOG_LEVEL", "debug", "DEBUG"),
        ("LOG_FORMAT", "Json", LogFormat.JSON),
        ("IMAGE_MODERATION", "LOW", "low"),
        ("IMAGE_SIZE_TABLE", "Extended", "extended"),
        ("IMAGE_PROVIDER", "Sandbox", "sandbox"),
    ],
)
def test_choices_are_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch, name: str, given: str, read: str
) -> None:
    monkeypatch.setenv(name, given)
    settings = load_settings(_env_file=None)
    assert getattr(settings, name.lower()) == read


def test_a_wrong_choice_names_the_choices_without_pydantic_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message == "LOG_LEVEL: must be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'verbose')"


def test_a_database_url_error_never_shows_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://easel:hunter2@db/easel")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == "DATABASE_URL"
    assert "hunter2" not in str(caught.value)


def test_the_database_url_is_a_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/easel.sqlite3"
    settings = load_settings(_env_file=None, database_url=url)
    assert url not in repr(settings) and url not in str(settings.model_dump())


def test_a_token_without_an_image_key_refuses_the_sandbox_unless_chosen() -> None:
    settings = load_settings(_env_file=None, discord_token="MTEx.token.abc")
    with pytest.raises(ConfigError) as caught:
        settings.check_sandbox_chosen()
    assert caught.value.setting == "IMAGE_API_KEY"
    assert "placeholder" in caught.value.problem
    assert "IMAGE_PROVIDER=sandbox" in caught.value.problem

    chosen = load_settings(_env_file=None, discord_token="MTEx.token.abc", image_provider="sandbox")
    chosen.check_sandbox_chosen()
    load_settings(_env_file=None).check_sandbox_chosen()  # no token: the playground's business


async def test_check_with_a_misspelt_provider_variable_exits_2_naming_it(tmp_path: Path) -> None:
    code, stdout, stderr = await run_cli(
        "check", env={"IMAGE_PROVDER": "openai"}, tmp_path=tmp_path
    )

    assert code == 2, stdout + stderr
    assert stderr.strip().splitlines() == [
        "configuration error: IMAGE_PROVDER: is not an Easel setting (set in the environment); "
        "did you mean IMAGE_PROVIDER?"
    ]


async def test_running_with_a_token_and_no_key_exits_2_with_the_reason(tmp_path: Path) -> None:
    code, stdout, stderr = await run_cli(
        env={"DISCORD_TOKEN": "MTEx.some-token.abcdefgh"}, tmp_path=tmp_path
    )

    assert code == 2, stdout + stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "IMAGE_API_KEY: is not set" in stderr and "IMAGE_PROVIDER=sandbox" in stderr
    assert "MTEx.some-token" not in stderr
