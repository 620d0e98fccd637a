"""The operations settings: where the health server listens and how log lines look."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.settings import LogFormat, load_settings


def test_by_default_the_health_server_listens_on_localhost_8080_and_logs_are_text() -> None:
    settings = load_settings(_env_file=None)

    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.log_format is LogFormat.TEXT


@pytest.mark.parametrize("value", ["json", "JSON", " Json "])
def test_log_format_json_in_any_case(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", value)

    assert load_settings(_env_file=None).log_format is LogFormat.JSON


@pytest.mark.parametrize(("name", "value"), [("HTTP_PORT", "70000"), ("LOG_FORMAT", "xml")])
def test_a_bad_value_names_its_setting(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)

    assert caught.value.setting == name


def test_http_port_0_turns_the_server_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "0")

    assert load_settings(_env_file=None).http_port == 0
