"""Declared option limits are re-checked on the server, for every command (``cogs.checks``)."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from cogs.checks import declared_problem
from tests.cogs.conftest import Harness
from tests.cogs.policy_support import EPHEMERAL, answer, channel_option, easel, option, text_of
from tests.support.discord_harness import GUILD_ID, slash_command_payload

ART = 800_000_000_000_000_001


def command(h: Harness, name: str, *path: str) -> app_commands.Command[Any, ..., Any]:
    found = h.bot.tree.get_command(name)
    for part in path:
        assert isinstance(found, app_commands.Group)
        found = found.get_command(part)
    assert isinstance(found, app_commands.Command)
    return found


def data(*options: dict[str, Any], resolved: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"options": list(options), "resolved": resolved or {}}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([option("prompt", "a fox"), option("n", 0, 4)], "`n` must be between 1 and 10 (got 0)"),
        ([option("prompt", "a fox"), option("n", 11, 4)], "`n` must be between 1 and 10 (got 11)"),
        ([option("prompt", "a fox"), option("n", "3", 4)], "`n` must be a whole number"),
        ([option("prompt", "a fox"), option("n", 2.5, 4)], "`n` must be a whole number"),
        ([option("prompt", "")], "`prompt` can't be empty"),
        ([option("prompt", "a" * 6001)], "`prompt` is 6,001 characters long; it can be at most"),
        ([option("prompt", "a fox"), option("ratio", "7:3")], "`ratio` must be one of: 1:1,"),
        ([option("prompt", "a fox"), option("format", "gif")], "`format` must be one of: png"),
        ([option("prompt", "a fox"), option("compression", -1, 4)], "between 0 and 100"),
        ([option("n", 2, 4)], "`prompt` is required"),
    ],
)
def test_imagine_options_outside_their_declaration_are_named(
    harness: Harness, options: list[dict[str, Any]], expected: str
) -> None:
    problem = declared_problem(command(harness, "imagine"), data(*options))
    assert problem is not None and expected in str(problem)


def test_values_inside_the_declaration_pass(harness: Harness) -> None:
    imagine = command(harness, "imagine")
    sent = data(option("prompt", "a" * 6000), option("n", 10, 4), option("ratio", "16:9"))
    assert declared_problem(imagine, sent) is None
    assert declared_problem(command(harness, "usage"), data(option("days", 30, 4))) is None


def test_a_refused_value_is_quoted_short_and_cannot_break_the_markdown(harness: Harness) -> None:
    usage = command(harness, "usage")
    problem = declared_problem(usage, data(option("report", "`@everyone` " + "x" * 100)))
    assert problem is not None
    shown = str(problem)
    assert "``" not in shown and "…" in shown and len(shown) < 120


def test_a_channel_of_a_kind_the_option_does_not_take_is_refused(harness: Harness) -> None:
    channel, resolved = channel_option("channel", ART)
    resolved["channels"][str(ART)]["type"] = discord.ChannelType.group.value
    problem = declared_problem(
        command(harness, "easel", "modlog"), data(channel, resolved=resolved)
    )
    assert problem is not None and "`channel` must be a" in str(problem)
    assert "text channel" in str(problem) and "(got a another kind of channel)" not in str(problem)


async def test_an_out_of_range_value_is_refused_privately_before_the_command_runs(
    harness: Harness,
) -> None:
    before = harness.bot.policy.settings(GUILD_ID)
    call = await answer(harness, easel("limits", option("max_images", 0, 4)))
    assert call.payload is not None and call.payload["type"] == 4 and call.flags & EPHEMERAL
    assert "`max_images` must be between 1 and 10 (got 0)" in text_of(call)
    assert harness.bot.policy.settings(GUILD_ID) == before


async def test_usage_days_are_not_silently_clamped(harness: Harness) -> None:
    payload = slash_command_payload("usage", [option("days", 0, 4)])
    call = await answer(harness, payload)
    assert call.payload is not None and call.payload["type"] == 4, "refused, not deferred"
    assert "`days` must be between 1 and 92 (got 0)" in text_of(call)


async def test_a_settings_error_pydantic_finds_names_the_setting(harness: Harness) -> None:
    from bot.errors import InputError

    with pytest.raises(InputError, match=r"^`max_n`: Input should be"):
        await harness.bot.policy.update(GUILD_ID, by=1, max_n=0)
