"""Prompts are shown as they read: no override turns the message around, nothing hides in it."""

from __future__ import annotations

from cogs._render import quote_prompt


def test_a_direction_override_is_shown_resolved_and_never_reaches_discord() -> None:
    shown = quote_prompt("a \u202edrowdab\u202c dog and more")
    assert shown == "a badword dog and more"
    assert not any(ch in shown for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_invisible_characters_are_not_shown() -> None:
    assert quote_prompt("a\u200b red\u2060 fox\U000e0041") == "a red fox"


def test_markdown_and_mentions_stay_neutralised() -> None:
    shown = quote_prompt("**bold** @every\u200bone")
    assert "\\*\\*bold\\*\\*" in shown
    assert "@everyone" not in shown
