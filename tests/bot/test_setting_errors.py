"""Settings errors in a host's words: the variable, what is wrong, no pydantic internals."""

from __future__ import annotations

import os

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(("PROVIDERS", "LOG_", "HTTP_", "SYNC_", "DATABASE_")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT: must be 'text' or 'json' (got 'xml')"),
        ("HTTP_PORT", "99999", "HTTP_PORT: must be at most 65535 (got '99999')"),
        ("SYNC_COMMANDS", "maybe", "SYNC_COMMANDS: must be true or false (got 'maybe')"),
        (
            "PROVIDERS",
            '{"openai": "sk-not-json',
            "PROVIDERS: cannot be read: as one variable it must be JSON; set each part as its "
            "own variable instead (PROVIDERS__<NAME>__API_KEY=…, see .env.example)",
        ),
    ],
)
def test_a_bad_value_is_one_plain_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)

    assert str(caught.value) == message
    assert "Input should" not in message and "Value error" not in message
    assert "sk-not-json" not in message
