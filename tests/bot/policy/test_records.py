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


def test_settings_changes_name_each_setting_in_the_readers_language() -> None:
    from bot.i18n import Lang
    from bot.policy.records import settings_changes

    before, after = GuildSettings(), GuildSettings(threads=False, cooldown_seconds=30)
    changes = settings_changes(before, after)
    assert str(changes) == "Changed: threads: yes → no · cooldown (seconds): 0 → 30"
    german = Lang.of("de")(changes)
    assert german == "Geändert: Threads: ja → nein · Wartezeit (Sekunden): 0 → 30", german
