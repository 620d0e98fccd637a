"""The rules: pure functions from (settings, request facts, today's usage) to a refusal or None.

No I/O and no clock reads here: the service passes ``now`` and the counters in, so every rule is
tested with plain values. Each refusal says which rule applied and what the member can do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import PolicyRefusal
from bot.i18n import Duration, Items, Text, Value, _, _n, literal, markup
from bot.policy.models import (
    ButtonAccess,
    GuildSettings,
    JobCommand,
    JobContext,
    PastJob,
    resolution_allowed,
)
from bot.policy.terms import TermMatcher

log = logging.getLogger(__name__)

MAX_LISTED_CHANNELS = 10


class Rule:
    """Rule names, as stored in the audit log and shown to admins."""

    DMS = "dms"
    CHANNEL = "channel"
    THREADS = "threads"
    BANNED = "banned"
    ROLES = "roles"
    COMMAND = "command"
    BLOCKED_TERM = "blocked_term"
    NSFW = "nsfw_only"
    MAX_N = "max_images"
    MAX_RESOLUTION = "max_resolution"
    COOLDOWN = "cooldown"
    MEMBER_QUOTA = "member_quota"
    SERVER_QUOTA = "server_quota"
    BUTTONS = "buttons"
    NO_JOB = "no_job"
    DELETED = "deleted"
    MEMBER_BUDGET = "member_budget"
    SERVER_BUDGET = "server_budget"
    HOST_BUDGET = "host_budget"
    PRICE_UNKNOWN = "price_unknown"


RULE_TITLES: dict[str, Text] = {
    Rule.DMS: _("Direct messages"),
    Rule.CHANNEL: _("Channel rules"),
    Rule.THREADS: _("Threads"),
    Rule.BANNED: _("Blocked member"),
    Rule.ROLES: _("Required role"),
    Rule.COMMAND: _("Command turned off"),
    Rule.BLOCKED_TERM: _("Blocked term"),
    Rule.NSFW: _("Age-restricted channels only"),
    Rule.MAX_N: _("Images per job"),
    Rule.MAX_RESOLUTION: _("Largest resolution"),
    Rule.COOLDOWN: _("Cooldown"),
    Rule.MEMBER_QUOTA: _("Your daily limit"),
    Rule.SERVER_QUOTA: _("Server daily limit"),
    Rule.BUTTONS: _("Someone else's result"),
    Rule.NO_JOB: _("No such job"),
    Rule.DELETED: _("Deleted result"),
    Rule.MEMBER_BUDGET: _("Your budget"),
    Rule.SERVER_BUDGET: _("Server budget"),
    Rule.HOST_BUDGET: _("Easel's overall budget"),
    Rule.PRICE_UNKNOWN: _("Price unknown"),
}
# Refusals of a stored job that say nothing about the job: not logged for the moderators
# (the job may belong to another server, and its prompt must not reach this one's log).
UNLOGGED = frozenset({Rule.NO_JOB, Rule.DELETED})


def rule_title(rule: str | None) -> Text:
    """A rule's title for people (an unknown rule name as it is)."""
    return RULE_TITLES.get(rule or "", literal(rule or "policy"))


@dataclass(frozen=True)
class Usage:
    """What a member and their server have used today, counting jobs still running."""

    member_images: int = 0
    server_images: int = 0
    last_job_at: float | None = None  # the member's last accepted job, for the cooldown


def refuse(rule: str, text: Text, *, admin_detail: Text | str = "") -> PolicyRefusal:
    """A refusal whose message starts with the rule's title."""
    # Translators: a refusal: the rule's title in bold, then why and what to do.
    message = _("**{title}.** {reason}", title=RULE_TITLES[rule], reason=text)
    return PolicyRefusal(message, rule=rule, admin_detail=admin_detail)


def channel_list(ids: frozenset[int]) -> Items:
    """Channels as mentions (they never ping), a few at most, joined the reader's way."""
    shown: list[Value] = [f"<#{cid}>" for cid in sorted(ids)[:MAX_LISTED_CHANNELS]]
    more = len(ids) - len(shown)
    if more > 0:
        shown.append(_n("{count} more", "{count} more", more))
    return Items(items=tuple(shown), style="or")


def check_place(settings: GuildSettings, ctx: JobContext, *, dms_allowed: bool) -> None:
    """Where: direct messages, allowed and denied channels, threads, NSFW-only."""
    if ctx.guild_id is None:
        if not dms_allowed:
            raise refuse(Rule.DMS, _("Easel can't be used in direct messages. Use it in a server."))
        return
    places = ctx.places
    if any(place in settings.denied_channels for place in places):
        if settings.allowed_channels:
            raise refuse(
                Rule.CHANNEL,
                _(
                    "Easel is turned off in this channel. Use it in {channels}.",
                    channels=channel_list(settings.allowed_channels),
                ),
            )
        raise refuse(Rule.CHANNEL, _("Easel is turned off in this channel. Try another channel."))
    if settings.allowed_channels and not any(p in settings.allowed_channels for p in places):
        raise refuse(
            Rule.CHANNEL,
            _(
                "Easel can't be used in this channel. Use it in {channels}.",
                channels=channel_list(settings.allowed_channels),
            ),
        )
    if ctx.in_thread and not settings.threads:
        if ctx.parent_channel_id:
            raise refuse(
                Rule.THREADS,
                _(
                    "Easel can't be used in threads here. Use it in {channel} instead.",
                    channel=markup.channel(ctx.parent_channel_id),
                ),
            )
        raise refuse(Rule.THREADS, _("Easel can't be used in threads here."))
    if settings.nsfw_only and not ctx.channel_nsfw:
        raise refuse(
            Rule.NSFW, _("This server allows Easel only in age-restricted (NSFW) channels.")
        )


def check_member(settings: GuildSettings, ctx: JobContext) -> None:
    """Who: banned members, then required roles (admins are never locked out by roles)."""
    if ctx.user_id in settings.banned_members:
        raise refuse(
            Rule.BANNED,
            _(
                "A server admin has blocked you from using Easel here. Ask them if you think "
                "this is a mistake."
            ),
        )
    needs_role = settings.required_roles and not ctx.is_admin
    if needs_role and not (ctx.role_ids & settings.required_roles):
        roles = Items(
            items=tuple(f"<@&{rid}>" for rid in sorted(settings.required_roles)[:10]), style="or"
        )
        raise refuse(
            Rule.ROLES, _("You need one of these roles to use Easel here: {roles}.", roles=roles)
        )


def check_command(settings: GuildSettings, ctx: JobContext) -> None:
    """Which job commands are on (buttons that edit count as ``edit``)."""
    if ctx.command in set(JobCommand) and ctx.command not in settings.commands:
        on = [f"`/{name}`" for name in JobCommand if name in settings.commands]
        off = _("`/{command}` is turned off in this server.", command=ctx.command)
        if on:
            off = _(
                "`/{command}` is turned off in this server. You can use {commands}.",
                command=ctx.command,
                commands=Items(items=tuple(on), style="or"),
            )
        raise refuse(Rule.COMMAND, off)


def check_prompt(settings: GuildSettings, ctx: JobContext, terms: TermMatcher) -> None:
    """What: blocked terms; the matched term goes to the admins' log, not to the member."""
    found = terms.find(ctx.prompt)
    if found is not None:
        raise refuse(
            Rule.BLOCKED_TERM,
            _("Your prompt contains a term this server does not allow. Rephrase it and try again."),
            admin_detail=_("matched blocked term: {term}", term=found),
        )


def check_size(settings: GuildSettings, ctx: JobContext) -> None:
    """How big: images per job and resolution tier."""
    if ctx.n > settings.max_n:
        raise refuse(
            Rule.MAX_N,
            _n(
                "This server allows at most {count} image per job. Ask for `n:{count}`.",
                "This server allows at most {count} images per job. Ask for `n:{count}` or fewer.",
                settings.max_n,
            ),
        )
    if not resolution_allowed(ctx.resolution, settings.max_resolution):
        raise refuse(
            Rule.MAX_RESOLUTION,
            _(
                "This server allows resolutions up to {resolution}. "
                "Pick `resolution:{resolution}` or smaller.",
                resolution=str(settings.max_resolution),
            ),
        )


def check_amount(
    settings: GuildSettings, ctx: JobContext, usage: Usage, *, now: float, resets_at: int
) -> None:
    """How much: the cooldown, then the member's and the server's images today."""
    if settings.cooldown_seconds and usage.last_job_at is not None:
        ready = usage.last_job_at + settings.cooldown_seconds
        if now < ready:
            raise refuse(
                Rule.COOLDOWN,
                _(
                    "This server asks members to wait {wait} between jobs. "
                    "You can start another {when}.",
                    wait=Duration(seconds=settings.cooldown_seconds),
                    when=markup.relative_time(int(ready) + 1),
                ),
            )
    reset = f"<t:{resets_at}:R> (<t:{resets_at}:t>)"  # Discord shows it in the reader's words
    for quota in (MEMBER_QUOTA, SERVER_QUOTA):
        quota.check(settings, usage, ctx.n, reset)


@dataclass(frozen=True)
class DailyQuota:
    """One daily image limit: where its limit and count are, and how a refusal words them."""

    rule: str
    limit: Callable[[GuildSettings], int | None]
    used: Callable[[Usage], int]
    said_used: Callable[[int, int], Text]  # (limit, used today)
    said_left: Callable[[int, str], Text]  # (images left, when it resets)
    said_none_left: Callable[[str], Text]  # (when it resets)

    def check(self, settings: GuildSettings, usage: Usage, n: int, reset: str) -> None:
        """Refuse ``n`` more images past the limit, saying what is left and when it resets."""
        limit, used = self.limit(settings), self.used(usage)
        if limit is None or used + n <= limit:
            return
        left = max(0, limit - used)
        advice = self.said_left(left, reset) if left else self.said_none_left(reset)
        # Translators: what was used today, then what the member can do.
        raise refuse(
            self.rule, _("{used} {advice}", used=self.said_used(limit, used), advice=advice)
        )


MEMBER_QUOTA = DailyQuota(
    Rule.MEMBER_QUOTA,
    limit=lambda settings: settings.member_daily_images,
    used=lambda usage: usage.member_images,
    said_used=lambda limit, used: _n(
        "You have used {used} of your {count} image today.",
        "You have used {used} of your {count} images today.",
        limit,
        used=used,
    ),
    said_left=lambda left, reset: _n(
        "You have {count} image left today: ask for `n:{count}`, or wait until it resets {reset}.",
        "You have {count} images left today: ask for `n:{count}`, or wait until it resets {reset}.",
        left,
        reset=reset,
    ),
    said_none_left=lambda reset: _("Your images reset {reset}.", reset=reset),
)
SERVER_QUOTA = DailyQuota(
    Rule.SERVER_QUOTA,
    limit=lambda settings: settings.server_daily_images,
    used=lambda usage: usage.server_images,
    said_used=lambda limit, used: _n(
        "This server has used {used} of its {count} image today.",
        "This server has used {used} of its {count} images today.",
        limit,
        used=used,
    ),
    said_left=lambda left, reset: _n(
        "{count} image left today: ask for `n:{count}`, or wait until it resets {reset}.",
        "{count} images left today: ask for `n:{count}`, or wait until it resets {reset}.",
        left,
        reset=reset,
    ),
    said_none_left=lambda reset: _("It resets {reset}.", reset=reset),
)


def check_job(
    settings: GuildSettings,
    ctx: JobContext,
    usage: Usage,
    terms: TermMatcher,
    *,
    now: float,
    resets_at: int,
    dms_allowed: bool = False,
) -> None:
    """Every rule in the order a member can act on them; raises the first PolicyRefusal."""
    check_place(settings, ctx, dms_allowed=dms_allowed)
    check_member(settings, ctx)
    check_command(settings, ctx)
    check_prompt(settings, ctx, terms)
    check_size(settings, ctx)
    check_amount(settings, ctx, usage, now=now, resets_at=resets_at)


def check_button(
    settings: GuildSettings,
    *,
    requester_id: int | None,
    presser_id: int,
    presser_is_admin: bool = False,
) -> PolicyRefusal | None:
    """Who may reuse a member's result (its buttons, ``/show``, Edit image): the requester and
    admins, or anyone if the server says."""
    if settings.button_access is ButtonAccess.ANYONE or presser_is_admin:
        return None
    if requester_id is None or presser_id == requester_id:
        return None
    return refuse(
        Rule.BUTTONS,
        _(
            "Only {requester} (and server admins) can reuse or show this result here. Run "
            "the command yourself to make your own.",
            requester=markup.user(requester_id),
        ),
    )


def no_such_job() -> PolicyRefusal:
    """The answer for a job that does not exist or is not this member's to see (the same
    words, so an id from elsewhere reveals nothing)."""
    return refuse(Rule.NO_JOB, _("There is no job with that id here. `/jobs` lists yours."))


def check_reuse(
    settings: GuildSettings,
    ctx: JobContext,
    past: PastJob,
    terms: TermMatcher,
    *,
    dms_allowed: bool = False,
) -> None:
    """Whether ``ctx``'s member may show or reuse ``past`` where they ask (``/show``, a
    result's buttons, Edit image on a result); raises the first PolicyRefusal.

    Another member's job is seen only in its own server (never in direct messages), and only
    where the server lets members reuse others' results. A deleted result stays deleted, for
    everyone. Otherwise the rules of a new job apply, here and now: the place, the member, the
    command (``ctx.command``: ``/show`` counts as the command that made the job), the server's
    blocked terms on the prompt as it reads today, and age-restricted channels. How much
    (quotas, cooldown, sizes) is for the new job a button starts, checked when it starts.
    """
    own = past.user_id is not None and past.user_id == ctx.user_id
    if not own and (ctx.guild_id is None or past.guild_id != ctx.guild_id):
        raise no_such_job()
    check_place(settings, ctx, dms_allowed=dms_allowed)
    check_member(settings, ctx)
    if past.deleted:
        raise refuse(
            Rule.DELETED,
            _(
                "This result was deleted: its images are erased and nobody can show or reuse "
                "them again. Start a new job instead."
            ),
        )
    refusal = check_button(
        settings,
        requester_id=past.user_id,
        presser_id=ctx.user_id,
        presser_is_admin=ctx.is_admin,
    )
    if refusal is not None:
        raise refusal
    shown = ctx.model_copy(update={"prompt": past.prompt})
    check_command(settings, shown)
    check_prompt(settings, shown, terms)
    if past.made_in_nsfw and not ctx.channel_nsfw:
        raise refuse(
            Rule.NSFW,
            _(
                "This result was made in an age-restricted (NSFW) channel, so it can be shown "
                "or reused only in one."
            ),
        )
