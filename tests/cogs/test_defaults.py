"""``/easel defaults`` and ``/settings``: refused when set if they would not work, with why;
Manage Server checked in code for the new group too; /imagine takes them and says so."""

from __future__ import annotations

from typing import Any

import pytest

from bot.options import Ratio, Resolution
from bot.policy.defaults import JobDefaults
from tests.cogs.conftest import Harness
from tests.cogs.policy_support import (
    EPHEMERAL,
    answer,
    as_member,
    channel_option,
    easel,
    imagine,
    option,
    run_job,
    text_of,
)
from tests.support.discord_harness import CHANNEL_ID, GUILD_ID, USER_ID, slash_command_payload


def settings(*options: dict[str, Any]) -> dict[str, Any]:
    return as_member(slash_command_payload("settings", list(options)))


async def ask(h: Harness, payload: dict[str, Any]) -> str:
    call = await answer(h, payload)
    assert call.flags & EPHEMERAL, text_of(call)
    return text_of(call)


async def test_server_defaults_the_model_cannot_make_are_refused_with_the_reason(
    harness: Harness,
) -> None:
    text = await ask(
        harness,
        easel("server", option("ratio", "16:9"), option("resolution", "1K"), group="defaults"),
    )
    assert "Easel can't use these defaults" in text and "16:9 is not available at 1K" in text
    assert "Nothing was changed" in text
    assert harness.bot.policy.settings(GUILD_ID).defaults == JobDefaults()


async def test_a_channels_defaults_are_checked_with_the_servers(harness: Harness) -> None:
    await harness.bot.policy.update(GUILD_ID, by=1, defaults=JobDefaults(ratio=Ratio.WIDE_16_9))
    channel, resolved = channel_option("channel", CHANNEL_ID)
    text = await ask(
        harness,
        easel("channel", channel, option("resolution", "1K"), group="defaults", resolved=resolved),
    )
    assert "16:9 is not available at 1K" in text
    text = await ask(
        harness,
        easel("channel", channel, option("resolution", "2K"), group="defaults", resolved=resolved),
    )
    assert f"✅ <#{CHANNEL_ID}>'s defaults: 2K" in text
    saved = harness.bot.policy.settings(GUILD_ID).channel_defaults
    assert saved == {CHANNEL_ID: JobDefaults(resolution=Resolution.R2K)}
    overview = await ask(harness, easel("settings"))
    assert "Defaults · `/easel defaults`" in overview and f"<#{CHANNEL_ID}>: 2K" in overview


async def test_members_without_manage_server_cannot_change_the_defaults_or_budgets(
    harness: Harness,
) -> None:
    for payload in (
        easel("server", option("n", 2, 4), group="defaults", admin=False),
        easel("server", option("monthly", "5"), group="budget", admin=False),
    ):
        assert "Manage Server" in await ask(harness, payload)
    settings_now = harness.bot.policy.settings(GUILD_ID)
    assert settings_now.defaults == JobDefaults() and not settings_now.server_budget.set


async def test_a_members_own_defaults_are_held_to_the_servers_rules(harness: Harness) -> None:
    await harness.bot.policy.update(GUILD_ID, by=1, max_n=4)
    text = await ask(harness, settings(option("n", 5, 4)))
    assert "5 images: this server allows at most 4 images per job" in text
    text = await ask(harness, settings(option("n", 3, 4), option("format", "jpeg")))
    assert "Your defaults are saved" in text and "3 images" in text and "jpeg" in text
    assert harness.bot.policy.preferences.of(GUILD_ID, USER_ID).n == 3
    assert "Your Easel defaults" in await ask(harness, settings())


@pytest.mark.parametrize("clear", [option("n", 0, 4), option("reset", True, 5)])
async def test_a_member_can_clear_their_defaults(harness: Harness, clear: dict[str, Any]) -> None:
    await ask(harness, settings(option("n", 2, 4)))
    await ask(harness, settings(clear))
    assert harness.bot.policy.preferences.of(GUILD_ID, USER_ID).empty


async def test_imagine_uses_the_defaults_and_its_message_says_where_they_came_from(
    harness: Harness,
) -> None:
    await harness.bot.policy.update(GUILD_ID, by=1, defaults=JobDefaults(ratio=Ratio.TALL_9_16))
    await ask(harness, settings(option("n", 2, 4)))
    final = await run_job(harness, imagine("a tall fox"))
    shown = text_of(final)
    assert "9:16 (server default)" in shown and "2 images (your default)" in shown
    body = harness.sandbox.requests_to("submit")[-1].body
    assert (body["size"], body["n"]) == ("9:16", 2)
    typed = await run_job(harness, imagine("a square fox", ratio="1:1", n=1))
    assert "Defaults used" not in text_of(typed)
