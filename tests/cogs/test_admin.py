"""``/easel``: admins change every control from Discord; everyone else is refused in code."""

from __future__ import annotations

from typing import Any

import pytest

from bot.client import EaselBot
from bot.options import Resolution
from bot.policy.models import ButtonAccess, JobCommand
from tests.cogs.conftest import Harness, moderation_log
from tests.cogs.policy_support import (
    EPHEMERAL,
    answer,
    channel_option,
    easel,
    option,
    record_log,
    role_option,
    text_of,
    user_option,
)
from tests.support.discord_harness import GUILD_ID, USER_ID

ART = 800_000_000_000_000_001
ROLE = 800_000_000_000_000_002
TROLL = USER_ID + 7

NON_ADMIN_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("settings", {}),
    ("limits", {"options": [option("member_daily", 1, 4)]}),
    ("where", {"options": [option("threads", False, 5)]}),
    ("output", {"options": [option("spoilers", True, 5)]}),
    ("command", {"options": [option("command", "imagine"), option("enabled", False, 5)]}),
    ("modlog", {}),
    ("add", {"group": "terms", "options": [option("term", "spooky")]}),
    ("list", {"group": "terms"}),
]


async def ask(h: Harness, payload: dict[str, Any]) -> str:
    """Send an /easel command; return its (always ephemeral) answer."""
    call = await answer(h, payload)
    assert call.flags & EPHEMERAL, text_of(call)
    return text_of(call)


@pytest.mark.parametrize(("subcommand", "spec"), NON_ADMIN_CALLS)
async def test_members_without_manage_server_are_refused_and_nothing_changes(
    harness: Harness, subcommand: str, spec: dict[str, Any]
) -> None:
    before = harness.bot.policy.settings(GUILD_ID)
    payload = easel(subcommand, *spec.get("options", []), group=spec.get("group"), admin=False)
    text = await ask(harness, payload)
    assert "Manage Server" in text
    assert harness.bot.policy.settings(GUILD_ID) == before
    assert harness.bot.policy.terms(GUILD_ID) == ()


def test_the_group_is_hidden_from_non_admins_by_default_and_guild_only(harness: Harness) -> None:
    bot: EaselBot = harness.bot
    group = bot.tree.get_command("easel")
    assert group is not None
    data = group.to_dict(bot.tree)
    assert int(data["default_member_permissions"]) == 1 << 5  # Manage Server
    assert data.get("contexts") == [0] or data.get("dm_permission") is False


def test_the_command_switch_offers_exactly_the_declared_job_commands(harness: Harness) -> None:
    group = harness.bot.tree.get_command("easel")
    assert group is not None
    data = group.to_dict(harness.bot.tree)
    switch = next(sub for sub in data["options"] if sub["name"] == "command")
    choices = next(o for o in switch["options"] if o["name"] == "command")["choices"]
    assert [(c["name"], c["value"]) for c in choices] == [(c.value, c.value) for c in JobCommand]
    assert all(f"/{command}" in switch["description"] for command in JobCommand)


@pytest.mark.parametrize("command", list(JobCommand))
async def test_each_declared_job_command_is_switched_off_and_listed_as_off(
    harness: Harness, command: JobCommand
) -> None:
    text = await ask(
        harness, easel("command", option("command", command.value), option("enabled", False, 5))
    )
    assert f"`/{command}` is now off" in text
    assert harness.bot.policy.settings(GUILD_ID).commands == frozenset(JobCommand) - {command}
    overview = await ask(harness, easel("settings"))
    listed = overview.split("Commands on: ")[1].split("\\n")[0]
    assert f"`/{command}`" not in listed
    assert all(f"`/{other}`" in listed for other in JobCommand if other != command)


async def test_an_unknown_command_value_is_refused_with_the_choices(harness: Harness) -> None:
    text = await ask(
        harness, easel("command", option("command", "paint"), option("enabled", False, 5))
    )
    assert f"`command` must be one of: {', '.join(JobCommand)}" in text
    assert harness.bot.policy.settings(GUILD_ID).commands == frozenset(JobCommand)


async def test_limits_are_set_and_zero_means_no_limit(harness: Harness) -> None:
    text = await ask(
        harness,
        easel(
            "limits",
            option("member_daily", 20, 4),
            option("server_daily", 200, 4),
            option("cooldown", 30, 4),
            option("max_images", 4, 4),
            option("max_resolution", "2K"),
            option("timezone", "Europe/Paris"),
        ),
    )
    assert "Saved" in text
    s = harness.bot.policy.settings(GUILD_ID)
    assert (s.member_daily_images, s.server_daily_images, s.cooldown_seconds) == (20, 200, 30)
    assert (s.max_n, s.max_resolution, s.timezone) == (4, Resolution.R2K, "Europe/Paris")
    await ask(harness, easel("limits", option("member_daily", 0, 4)))
    assert harness.bot.policy.settings(GUILD_ID).member_daily_images is None


async def test_a_bad_timezone_is_refused_with_an_example(harness: Harness) -> None:
    text = await ask(harness, easel("limits", option("timezone", "Mars/Base")))
    assert "Europe/Paris" in text
    assert harness.bot.policy.settings(GUILD_ID).timezone == "UTC"


async def test_channels_roles_bans_and_where(harness: Harness) -> None:
    channel, resolved = channel_option("channel", ART)
    text = await ask(harness, easel("channel", channel, option("rule", "allow"), resolved=resolved))
    assert f"<#{ART}>" in text
    assert harness.bot.policy.settings(GUILD_ID).allowed_channels == {ART}
    await ask(harness, easel("channel", channel, option("rule", "deny"), resolved=resolved))
    s = harness.bot.policy.settings(GUILD_ID)
    assert (s.allowed_channels, s.denied_channels) == (frozenset(), {ART})

    role, resolved = role_option("role", ROLE)
    await ask(harness, easel("role", role, option("rule", "require"), resolved=resolved))
    assert harness.bot.policy.settings(GUILD_ID).required_roles == {ROLE}

    member, resolved = user_option("member", TROLL)
    await ask(harness, easel("ban", member, resolved=resolved))
    assert harness.bot.policy.settings(GUILD_ID).banned_members == {TROLL}
    await ask(harness, easel("unban", member, resolved=resolved))
    assert harness.bot.policy.settings(GUILD_ID).banned_members == frozenset()

    await ask(
        harness,
        easel(
            "where",
            option("threads", False, 5),
            option("nsfw_only", True, 5),
            option("reset_channels", True, 5),
        ),
    )
    s = harness.bot.policy.settings(GUILD_ID)
    assert (s.threads, s.nsfw_only, s.denied_channels) == (False, True, frozenset())


async def test_commands_output_and_the_moderation_log(harness: Harness) -> None:
    log = record_log(harness)
    await ask(harness, easel("command", option("command", "blend"), option("enabled", False, 5)))
    await ask(harness, easel("output", option("spoilers", True, 5), option("buttons", "anyone")))
    channel, resolved = channel_option("channel", ART)
    text = await ask(harness, easel("modlog", channel, resolved=resolved))
    assert f"<#{ART}>" in text
    s = harness.bot.policy.settings(GUILD_ID)
    assert s.commands == {"imagine", "edit"}
    assert (s.spoilers, s.button_access, s.moderation_channel) == (
        True,
        ButtonAccess.ANYONE,
        ART,
    )
    await ask(harness, easel("limits", option("cooldown", 5, 4)))
    await moderation_log(harness.bot).drain()
    assert log.posts and log.posts[-1][0] == ART
    assert "cooldown (seconds): 0 → 5" in str(log.posts[-1][1]["fields"])
    await ask(harness, easel("modlog"))
    assert harness.bot.policy.settings(GUILD_ID).moderation_channel is None


async def test_blocked_terms_are_added_listed_and_removed(harness: Harness) -> None:
    text = await ask(
        harness, easel("add", option("term", "spooky, Blood Bath, spooky, !"), group="terms")
    )
    assert "Blocked: `spooky` and `Blood Bath`" in text
    assert "Already blocked: `spooky`" in text and "two letters" in text
    listed = await ask(harness, easel("list", group="terms"))
    assert "Blocked terms (2)" in listed and "Blood Bath" in listed
    text = await ask(harness, easel("remove", option("term", "BLOOD  BATH"), group="terms"))
    assert "no longer blocked" in text
    assert harness.bot.policy.terms(GUILD_ID) == ("spooky",)


async def test_the_overview_shows_every_setting(harness: Harness) -> None:
    await harness.bot.policy.update(
        GUILD_ID,
        by=1,
        allowed_channels={ART},
        required_roles={ROLE},
        member_daily_images=20,
        cooldown_seconds=15,
        moderation_channel=ART,
        spoilers=True,
    )
    await harness.bot.policy.add_term(GUILD_ID, "spooky", by=1)
    text = await ask(harness, easel("settings"))
    for expected in (
        f"<#{ART}>",
        f"<@&{ROLE}>",
        "20 images",
        "15 seconds",
        "Blocked terms: 1",
        "spoilers: yes",
        "Threads: allowed",
        "Direct messages: off",
        "midnight UTC",
        "the requester",
    ):
        assert expected in text, expected
    assert "spooky" not in text  # the list itself is only in /easel terms list


async def test_the_timezone_option_autocompletes(harness: Harness) -> None:
    cog = harness.bot.get_cog("Admin")
    assert cog is not None
    choices = await cog.timezone_autocomplete(None, "paris")  # type: ignore[attr-defined]
    assert [c.value for c in choices] == ["Europe/Paris"]
