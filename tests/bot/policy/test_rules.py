"""Each rule allows and refuses as stated, with a message that says what to do."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import PolicyRefusal
from bot.options import Resolution
from bot.policy.models import (
    ButtonAccess,
    GuildSettings,
    JobCommand,
    JobContext,
    PastJob,
    next_midnight,
    zone_of,
)
from bot.policy.rules import Rule, Usage, check_button, check_job, check_reuse
from bot.policy.terms import TermMatcher

NOW = 1_786_000_000.0
RESETS = 1_786_060_000
GUILD, CHANNEL, USER = 10, 20, 30


def ctx(**changes: Any) -> JobContext:
    base: dict[str, Any] = {"guild_id": GUILD, "channel_id": CHANNEL, "user_id": USER}
    return JobContext(**{**base, **changes})


def verdict(
    settings: GuildSettings | None = None,
    context: JobContext | None = None,
    usage: Usage | None = None,
    terms: tuple[str, ...] = (),
    **kw: Any,
) -> PolicyRefusal | None:
    try:
        check_job(
            settings or GuildSettings(),
            context or ctx(),
            usage or Usage(),
            TermMatcher(terms),
            now=NOW,
            resets_at=RESETS,
            **kw,
        )
    except PolicyRefusal as refusal:
        return refusal
    return None


def test_defaults_allow_a_plain_job() -> None:
    assert verdict() is None


def test_direct_messages_are_off_unless_the_host_allows_them() -> None:
    refusal = verdict(context=ctx(guild_id=None))
    assert refusal is not None and refusal.rule == Rule.DMS
    assert verdict(context=ctx(guild_id=None), dms_allowed=True) is None


def test_an_allow_list_refuses_other_channels_and_names_the_allowed_ones() -> None:
    settings = GuildSettings(allowed_channels={21, 22})
    refusal = verdict(settings)
    assert refusal is not None and refusal.rule == Rule.CHANNEL
    assert "<#21>" in refusal.user_message and "<#22>" in refusal.user_message
    assert verdict(settings, ctx(channel_id=21)) is None


def test_a_category_or_a_threads_parent_counts_as_the_channel() -> None:
    settings = GuildSettings(allowed_channels={99})
    assert verdict(settings, ctx(category_id=99)) is None
    assert verdict(settings, ctx(channel_id=5, parent_channel_id=99, in_thread=True)) is None


def test_a_denied_channel_is_refused_even_without_an_allow_list() -> None:
    refusal = verdict(GuildSettings(denied_channels={CHANNEL}))
    assert refusal is not None and refusal.rule == Rule.CHANNEL


def test_threads_can_be_turned_off_and_the_parent_is_suggested() -> None:
    settings = GuildSettings(threads=False)
    refusal = verdict(settings, ctx(channel_id=5, parent_channel_id=CHANNEL, in_thread=True))
    assert refusal is not None and refusal.rule == Rule.THREADS
    assert f"<#{CHANNEL}>" in refusal.user_message
    assert verdict(settings) is None


def test_nsfw_only_allows_only_age_restricted_channels() -> None:
    settings = GuildSettings(nsfw_only=True)
    refusal = verdict(settings)
    assert refusal is not None and refusal.rule == Rule.NSFW
    assert verdict(settings, ctx(channel_nsfw=True)) is None


def test_banned_members_are_refused() -> None:
    refusal = verdict(GuildSettings(banned_members={USER}))
    assert refusal is not None and refusal.rule == Rule.BANNED


def test_required_roles_need_any_one_and_admins_are_never_locked_out() -> None:
    settings = GuildSettings(required_roles={7, 8})
    refusal = verdict(settings)
    assert refusal is not None and refusal.rule == Rule.ROLES
    assert "<@&7>" in refusal.user_message
    assert verdict(settings, ctx(role_ids={8})) is None
    assert verdict(settings, ctx(is_admin=True)) is None


def test_a_command_turned_off_is_refused_and_the_others_are_named() -> None:
    settings = GuildSettings(commands={"imagine"})
    refusal = verdict(settings, ctx(command="edit"))
    assert refusal is not None and refusal.rule == Rule.COMMAND
    assert "`/imagine`" in refusal.user_message
    assert verdict(settings, ctx(command="imagine")) is None


def test_every_declared_job_command_is_on_by_default() -> None:
    assert GuildSettings().commands == frozenset(JobCommand)


@pytest.mark.parametrize("command", list(JobCommand))
def test_every_declared_job_command_can_be_switched_off_alone(command: JobCommand) -> None:
    settings = GuildSettings(commands=frozenset(JobCommand) - {command})
    refusal = verdict(settings, ctx(command=command.value))
    assert refusal is not None and refusal.rule == Rule.COMMAND
    assert f"`/{command}` is turned off" in refusal.user_message
    assert all(f"`/{other}`" in refusal.user_message for other in settings.commands)
    others = [other for other in JobCommand if other != command]
    assert all(verdict(settings, ctx(command=other.value)) is None for other in others)


def test_a_command_outside_the_declaration_is_never_switched_off() -> None:
    assert verdict(GuildSettings(commands=frozenset()), ctx(command="usage")) is None


def test_a_blocked_term_is_refused_and_only_the_admin_detail_names_it() -> None:
    refusal = verdict(context=ctx(prompt="a sp00ky gh0st"), terms=("spooky",))
    assert refusal is not None and refusal.rule == Rule.BLOCKED_TERM
    assert "spooky" not in refusal.user_message
    assert "spooky" in refusal.admin_detail


def test_more_images_or_a_bigger_tier_than_allowed_are_refused_with_the_limit() -> None:
    settings = GuildSettings(max_n=2, max_resolution=Resolution.R2K)
    refusal = verdict(settings, ctx(n=3))
    assert refusal is not None and refusal.rule == Rule.MAX_N and "`n:2`" in refusal.user_message
    refusal = verdict(settings, ctx(resolution=Resolution.R4K))
    assert refusal is not None and refusal.rule == Rule.MAX_RESOLUTION
    assert verdict(settings, ctx(n=2, resolution=Resolution.R2K)) is None


def test_the_cooldown_says_when_the_member_can_start_again() -> None:
    settings = GuildSettings(cooldown_seconds=60)
    refusal = verdict(settings, usage=Usage(last_job_at=NOW - 10))
    assert refusal is not None and refusal.rule == Rule.COOLDOWN
    assert f"<t:{int(NOW - 10 + 60) + 1}:R>" in refusal.user_message
    assert verdict(settings, usage=Usage(last_job_at=NOW - 61)) is None


def test_the_member_quota_counts_the_request_and_says_when_it_resets() -> None:
    settings = GuildSettings(member_daily_images=10)
    assert verdict(settings, ctx(n=2), Usage(member_images=8)) is None
    refusal = verdict(settings, ctx(n=3), Usage(member_images=8))
    assert refusal is not None and refusal.rule == Rule.MEMBER_QUOTA
    assert "`n:2`" in refusal.user_message and f"<t:{RESETS}:R>" in refusal.user_message
    refusal = verdict(settings, ctx(n=1), Usage(member_images=10))
    assert refusal is not None and "8 of" not in refusal.user_message
    assert f"<t:{RESETS}:R>" in refusal.user_message


def test_the_server_quota_is_shared_by_everyone() -> None:
    settings = GuildSettings(server_daily_images=50)
    refusal = verdict(settings, usage=Usage(server_images=50))
    assert refusal is not None and refusal.rule == Rule.SERVER_QUOTA
    assert verdict(settings, usage=Usage(server_images=49)) is None


def test_rules_apply_in_order_where_before_how_much() -> None:
    settings = GuildSettings(denied_channels={CHANNEL}, member_daily_images=0)
    refusal = verdict(settings)
    assert refusal is not None and refusal.rule == Rule.CHANNEL


def test_result_buttons_are_for_the_requester_and_admins_unless_anyone_may_press() -> None:
    requester = GuildSettings()
    assert check_button(requester, requester_id=USER, presser_id=USER) is None
    assert check_button(requester, requester_id=USER, presser_id=1, presser_is_admin=True) is None
    refusal = check_button(requester, requester_id=USER, presser_id=1)
    assert refusal is not None and refusal.rule == Rule.BUTTONS
    anyone = GuildSettings(button_access=ButtonAccess.ANYONE)
    assert check_button(anyone, requester_id=USER, presser_id=1) is None


def test_unknown_timezones_are_refused_with_an_example() -> None:
    with pytest.raises(ValueError, match="Europe/Paris"):
        GuildSettings(timezone="Mars/Olympus")


def test_midnight_follows_the_servers_timezone_across_daylight_saving() -> None:
    paris = zone_of("Europe/Paris")
    # 2026-03-28 23:30 UTC is 00:30 on the 29th in Paris (UTC+1); the next midnight is the 30th
    # at 00:00 CEST (UTC+2): 23.5 hours on the wall clock, 22.5 real ones (clocks go forward).
    at = 1_774_740_600.0
    assert next_midnight(at, paris) - at == 22.5 * 3600


OTHER = USER + 1


def past(**changes: Any) -> PastJob:
    base: dict[str, Any] = {
        "job_id": "ab" * 16,
        "guild_id": GUILD,
        "user_id": USER,
        "command": JobCommand.IMAGINE,
        "prompt": "a lighthouse at dusk",
    }
    return PastJob(**{**base, **changes})


def reuse(
    job: PastJob,
    settings: GuildSettings | None = None,
    context: JobContext | None = None,
    terms: tuple[str, ...] = (),
    **kw: Any,
) -> PolicyRefusal | None:
    try:
        check_reuse(settings or GuildSettings(), context or ctx(), job, TermMatcher(terms), **kw)
    except PolicyRefusal as refusal:
        return refusal
    return None


def rule_of(refusal: PolicyRefusal | None) -> str | None:
    return None if refusal is None else refusal.rule


def test_a_member_may_show_their_own_job_where_a_new_one_may_run() -> None:
    assert reuse(past()) is None


@pytest.mark.parametrize(
    ("job", "viewer"),
    [
        (past(guild_id=GUILD + 1), ctx(user_id=OTHER)),  # another server's job
        (past(guild_id=None), ctx(user_id=OTHER, guild_id=None)),  # a DM job, seen from a DM
        (past(), ctx(user_id=OTHER, guild_id=None)),  # this server's job, seen from a DM
        (past(guild_id=None, user_id=None), ctx(guild_id=None)),  # a command-line job
    ],
)
def test_another_members_job_from_elsewhere_does_not_exist_for_the_viewer(
    job: PastJob, viewer: JobContext
) -> None:
    anyone = GuildSettings(button_access=ButtonAccess.ANYONE)
    refusal = reuse(job, anyone, viewer, dms_allowed=True)
    assert rule_of(refusal) == Rule.NO_JOB
    assert "lighthouse" not in str(refusal) and job.job_id[:8] not in str(refusal)


def test_another_members_job_is_reused_only_where_the_server_allows_it() -> None:
    refusal = reuse(past(), context=ctx(user_id=OTHER))
    assert rule_of(refusal) == Rule.BUTTONS and f"<@{USER}>" in str(refusal)
    assert reuse(past(), context=ctx(user_id=OTHER, is_admin=True)) is None
    anyone = GuildSettings(button_access=ButtonAccess.ANYONE)
    assert reuse(past(), anyone, ctx(user_id=OTHER)) is None


def test_a_deleted_result_is_refused_to_everyone_including_its_owner() -> None:
    anyone = GuildSettings(button_access=ButtonAccess.ANYONE)
    for viewer in (ctx(), ctx(user_id=OTHER), ctx(user_id=OTHER, is_admin=True)):
        assert rule_of(reuse(past(deleted=True), anyone, viewer)) == Rule.DELETED


@pytest.mark.parametrize(
    ("settings", "context", "terms", "rule"),
    [
        (GuildSettings(denied_channels={CHANNEL}), ctx(), (), Rule.CHANNEL),
        (GuildSettings(banned_members={USER}), ctx(), (), Rule.BANNED),
        (GuildSettings(required_roles={7}), ctx(), (), Rule.ROLES),
        (GuildSettings(commands={JobCommand.EDIT}), ctx(), (), Rule.COMMAND),
        (GuildSettings(), ctx(), ("lighthouse",), Rule.BLOCKED_TERM),
        (GuildSettings(nsfw_only=True), ctx(), (), Rule.NSFW),
        (GuildSettings(threads=False), ctx(in_thread=True), (), Rule.THREADS),
        (GuildSettings(), ctx(guild_id=None), (), Rule.DMS),
    ],
)
def test_showing_or_reusing_obeys_the_rules_of_a_new_job_now(
    settings: GuildSettings, context: JobContext, terms: tuple[str, ...], rule: str
) -> None:
    assert rule_of(reuse(past(), settings, context, terms)) == rule


def test_the_command_checked_is_the_one_the_caller_names() -> None:
    only_edit = GuildSettings(commands={JobCommand.EDIT})
    assert reuse(past(), only_edit, ctx(command=JobCommand.EDIT)) is None  # an edit of it
    assert rule_of(reuse(past(), only_edit, ctx(command=JobCommand.IMAGINE))) == Rule.COMMAND


def test_a_result_from_an_age_restricted_channel_stays_in_one() -> None:
    job = past(made_in_nsfw=True)
    assert rule_of(reuse(job)) == Rule.NSFW
    assert reuse(job, context=ctx(channel_nsfw=True)) is None


def test_how_much_is_left_to_the_job_a_button_starts() -> None:
    spent = GuildSettings(member_daily_images=0, max_n=1, max_resolution=Resolution.R1K)
    assert reuse(past(), spent, ctx(n=4, resolution=Resolution.R4K)) is None
