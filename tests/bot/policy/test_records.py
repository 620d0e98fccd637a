"""Policy records: a settings change is audited as exactly the settings that changed."""

from __future__ import annotations

from bot.policy.models import GuildSettings
from bot.policy.records import settings_diff


def test_settings_diff_names_only_what_changed_old_and_new() -> None:
    before = GuildSettings()
    after = before.model_copy(update={"cooldown_seconds": 30, "threads": False})
    assert settings_diff(before, after) == "`threads`: True → False; `cooldown_seconds`: 0 → 30"


def test_unchanged_settings_have_an_empty_diff() -> None:
    assert settings_diff(GuildSettings(), GuildSettings()) == ""
