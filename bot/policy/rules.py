"""The rules: pure functions from (settings, request facts, today's usage) to a refusal or None.

No I/O and no clock reads here: the service passes ``now`` and the counters in, so every rule is
tested with plain values. Each refusal says which rule applied and what the member can do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.errors import PolicyRefusal
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


RULE_TITLES: dict[str, str] = {
    Rule.DMS: "Direct messages",
    Rule.CHANNEL: "Channel rules",
    Rule.THREADS: "Threads",
    Rule.BANNED: "Blocked member",
    Rule.ROLES: "Required role",
    Rule.COMMAND: "Command turned off",
    Rule.BLOCKED_TERM: "Blocked term",
    Rule.NSFW: "Age-restricted channels only",
    Rule.MAX_N: "Images per job",
    Rule.MAX_RESOLUTION: "Largest resolution",
    Rule.COOLDOWN: "Cooldown",
    Rule.MEMBER_QUOTA: "Your daily limit",
    Rule.SERVER_QUOTA: "Server daily limit",
    Rule.BUTTONS: "Someone else's result",
    Rule.NO_JOB: "No such job",
    Rule.DELETED: "Deleted result",
    Rule.MEMBER_BUDGET: "Your budget",
    Rule.SERVER_BUDGET: "Server budget",
    Rule.HOST_BUDGET: "Easel's overall budget",
    Rule.PRICE_UNKNOWN: "Price unknown",
}
# Refusals of a stored job that say nothing about the job: not logged for the moderators
# (the job may belong to another server, and its prompt must not reach this one's log).
UNLOGGED = frozenset({Rule.NO_JOB, Rule.DELETED})


@dataclass(frozen=True)
class Usage:
    """What a member and their server have used today, counting jobs still running."""

    member_images: int = 0
    server_images: int = 0
    last_job_at: float | None = None  # the member's last accepted job, for the cooldown


def refuse(rule: str, text: str, *, admin_detail: str = "") -> PolicyRefusal:
    """A refusal whose message starts with the rule's title."""
    return PolicyRefusal(f"**{RULE_TITLES[rule]}.** {text}", rule=rule, admin_detail=admin_detail)


def channel_list(ids: frozenset[int]) -> str:
    """Channels as mentions (they never ping), a few at most."""
    shown = sorted(ids)[:MAX_LISTED_CHANNELS]
    more = len(ids) - len(shown)
    return ", ".join(f"<#{cid}>" for cid in shown) + (f" and {more} more" if more > 0 else "")


def check_place(settings: GuildSettings, ctx: JobContext, *, dms_allowed: bool) -> None:
    """Where: direct messages, allowed and denied channels, threads, NSFW-only."""
    if ctx.guild_id is None:
        if not dms_allowed:
            raise refuse(Rule.DMS, "Easel can't be used in direct messages. Use it in a server.")
        return
    places = ctx.places
    if any(place in settings.denied_channels for place in places):
        where = (
            f" Use it in {channel_list(settings.allowed_channels)}."
            if settings.allowed_channels
            else " Try another channel."
        )
        raise refuse(Rule.CHANNEL, f"Easel is turned off in this channel.{where}")
    if settings.allowed_channels and not any(p in settings.allowed_channels for p in places):
        raise refuse(
            Rule.CHANNEL,
            f"Easel can't be used in this channel. Use it in "
            f"{channel_list(settings.allowed_channels)}.",
        )
    if ctx.in_thread and not settings.threads:
        parent = f" Use it in <#{ctx.parent_channel_id}> instead." if ctx.parent_channel_id else ""
        raise refuse(Rule.THREADS, f"Easel can't be used in threads here.{parent}")
    if settings.nsfw_only and not ctx.channel_nsfw:
        raise refuse(Rule.NSFW, "This server allows Easel only in age-restricted (NSFW) channels.")


def check_member(settings: GuildSettings, ctx: JobContext) -> None:
    """Who: banned members, then required roles (admins are never locked out by roles)."""
    if ctx.user_id in settings.banned_members:
        raise refuse(
            Rule.BANNED,
            "A server admin has blocked you from using Easel here. Ask them if you think "
            "this is a mistake.",
        )
    needs_role = settings.required_roles and not ctx.is_admin
    if needs_role and not (ctx.role_ids & settings.required_roles):
        roles = ", ".join(f"<@&{rid}>" for rid in sorted(settings.required_roles)[:10])
        raise refuse(Rule.ROLES, f"You need one of these roles to use Easel here: {roles}.")


def check_command(settings: GuildSettings, ctx: JobContext) -> None:
    """Which job commands are on (buttons that edit count as ``edit``)."""
    if ctx.command in set(JobCommand) and ctx.command not in settings.commands:
        on = [f"`/{name}`" for name in JobCommand if name in settings.commands]
        hint = f" You can use {', '.join(on)}." if on else ""
        raise refuse(Rule.COMMAND, f"`/{ctx.command}` is turned off in this server.{hint}")


def check_prompt(settings: GuildSettings, ctx: JobContext, terms: TermMatcher) -> None:
    """What: blocked terms; the matched term goes to the admins' log, not to the member."""
    found = terms.find(ctx.prompt)
    if found is not None:
        raise refuse(
            Rule.BLOCKED_TERM,
            "Your prompt contains a term this server does not allow. Rephrase it and try again.",
            admin_detail=f"matched blocked term: {found}",
        )


def check_size(settings: GuildSettings, ctx: JobContext) -> None:
    """How big: images per job and resolution tier."""
    if ctx.n > settings.max_n:
        raise refuse(
            Rule.MAX_N,
            f"This server allows at most {settings.max_n} image"
            f"{'s' if settings.max_n != 1 else ''} per job. Ask for `n:{settings.max_n}` or fewer.",
        )
    if not resolution_allowed(ctx.resolution, settings.max_resolution):
        raise refuse(
            Rule.MAX_RESOLUTION,
            f"This server allows resolutions up to {settings.max_resolution}. "
            f"Pick `resolution:{settings.max_resolution}` or smaller.",
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
                f"This server asks members to wait {settings.cooldown_seconds}s between jobs. "
                f"You can start another <t:{int(ready) + 1}:R>.",
            )
    reset = f"<t:{resets_at}:R> (<t:{resets_at}:t>)"
    limit = settings.member_daily_images
    if limit is not None and usage.member_images + ctx.n > limit:
        left = max(0, limit - usage.member_images)
        if left:
            advice = (
                f"You have {left} left today: ask for `n:{left}`, or wait until it resets {reset}."
            )
        else:
            advice = f"Your images reset {reset}."
        raise refuse(
            Rule.MEMBER_QUOTA,
            f"You have used {usage.member_images} of your {limit} images today. {advice}",
        )
    limit = settings.server_daily_images
    if limit is not None and usage.server_images + ctx.n > limit:
        left = max(0, limit - usage.server_images)
        if left:
            advice = f"{left} left today: ask for `n:{left}`, or wait until it resets {reset}."
        else:
            advice = f"It resets {reset}."
        raise refuse(
            Rule.SERVER_QUOTA,
            f"This server has used {usage.server_images} of its {limit} images today. {advice}",
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
        f"Only <@{requester_id}> (and server admins) can reuse or show this result here. Run "
        "the command yourself to make your own.",
    )


def no_such_job() -> PolicyRefusal:
    """The answer for a job that does not exist or is not this member's to see (the same
    words, so an id from elsewhere reveals nothing)."""
    return refuse(Rule.NO_JOB, "There is no job with that id here. `/jobs` lists yours.")


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
            "This result was deleted: its images are erased and nobody can show or reuse them "
            "again. Start a new job instead.",
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
            "This result was made in an age-restricted (NSFW) channel, so it can be shown or "
            "reused only in one.",
        )
