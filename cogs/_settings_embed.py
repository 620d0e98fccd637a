"""What ``/easel`` shows: a server's settings in one embed, and its blocked terms.

Pure functions from the policy's state to embeds; mentions in them never ping (every message
disables mentions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.i18n import Duration, Items, Lang, Text, Value, _, _n, markup
from bot.i18n.catalogs import language_name
from bot.policy.models import ButtonAccess, JobCommand
from bot.policy.rules import MAX_LISTED_CHANNELS
from bot.text import visible_text
from cogs._admin_budget import budgets_field
from cogs._admin_defaults import defaults_field

if TYPE_CHECKING:
    from bot.client import EaselBot

MAX_LISTED = MAX_LISTED_CHANNELS
MAX_TERMS_TEXT = 4000  # an embed description holds 4096 characters
COLOUR = discord.Colour.blurple()


def mentions(ids: frozenset[int], template: str) -> Items:
    """A few ids as mentions (they never ping: every message disables mentions)."""
    shown: list[Value] = [template.format(i) for i in sorted(ids)[:MAX_LISTED]]
    more = len(ids) - len(shown)
    if more > 0:
        shown.append(_n("{count} more", "{count} more", more))
    return Items(items=tuple(shown))


def listed(ids: frozenset[int], template: str, tr: Lang, *, empty: Text) -> str:
    """``mentions`` in ``tr``'s words, or ``empty`` when there are none."""
    return tr.value(mentions(ids, template)) if ids else tr(empty)


def yes_no(value: bool, tr: Lang) -> str:
    """ "yes" or "no" in the reader's language."""
    return tr(_("yes")) if value else tr(_("no"))


def limit_text(value: int | None, tr: Lang) -> str:
    """``20 images`` or ``no limit``."""
    if value is None:
        return tr(_("no limit"))
    return tr(_n("{count} image", "{count} images", value))


def overview_embed(bot: EaselBot, guild_id: int, tr: Lang) -> discord.Embed:
    """Every setting of a server in one embed, in the reader's language."""
    policy = bot.policy
    s = policy.settings(guild_id)
    status = policy.status(guild_id, 0)
    embed = discord.Embed(title=tr(_("Easel settings for this server")), colour=COLOUR)
    where = [
        tr(
            _(
                "Allowed: {channels}",
                channels=listed(
                    s.allowed_channels, "<#{}>", tr, empty=_("every channel that is not denied")
                ),
            )
        ),
        tr(
            _(
                "Denied: {channels}",
                channels=listed(s.denied_channels, "<#{}>", tr, empty=_("none")),
            )
        ),
        tr(_("Threads: allowed")) if s.threads else tr(_("Threads: not allowed")),
        tr(_("Age-restricted (NSFW) channels only: {answer}", answer=yes_no(s.nsfw_only, tr))),
        tr(_("Direct messages: on"))
        if policy.dms_allowed
        else tr(_("Direct messages: off (Easel's commands work in servers only)")),
    ]
    embed.add_field(
        name=tr(_("Where · `/easel channel`, `/easel where`")),
        value="\n".join(where),
        inline=False,
    )
    who = [
        tr(
            _(
                "Required roles (any one): {roles}",
                roles=listed(s.required_roles, "<@&{}>", tr, empty=_("none")),
            )
        ),
        tr(
            _(
                "Blocked members: {members}",
                members=listed(s.banned_members, "<@{}>", tr, empty=_("none")),
            )
        ),
    ]
    embed.add_field(
        name=tr(_("Who · `/easel role`, `/easel ban`")), value="\n".join(who), inline=False
    )
    used = status.server_used + status.server_pending
    server_today = (
        tr(_("{used} of {limit}", used=used, limit=s.server_daily_images))
        if s.server_daily_images
        else tr.number(used)
    )
    commands_on = [f"`/{c}`" for c in JobCommand if c in s.commands]
    how_much = [
        tr(_("Per member per day: {limit}", limit=limit_text(s.member_daily_images, tr))),
        tr(
            _(
                "Per server per day: {limit} (today: {today})",
                limit=limit_text(s.server_daily_images, tr),
                today=server_today,
            )
        ),
        tr(_("Cooldown between jobs: {wait}", wait=Duration(seconds=s.cooldown_seconds)))
        if s.cooldown_seconds
        else tr(_("Cooldown between jobs: none")),
        tr(
            _(
                "Images per job: up to {count} · resolution: up to {resolution}",
                count=s.max_n,
                resolution=str(s.max_resolution),
            )
        ),
        tr(
            _(
                "Commands on: {commands}",
                commands=Items(items=tuple(commands_on)) if commands_on else _("none"),
            )
        ),
        tr(
            _(
                "Day starts at midnight {timezone} (next reset {when})",
                timezone=s.timezone,
                when=markup.relative_time(status.resets_at),
            )
        ),
    ]
    embed.add_field(
        name=tr(_("How much · `/easel limits`, `/easel command`")),
        value="\n".join(how_much),
        inline=False,
    )
    what = [
        tr(_("Blocked terms: {count} (`/easel terms list`)", count=len(policy.terms(guild_id)))),
        tr(_("Results as spoilers: {answer}", answer=yes_no(s.spoilers, tr))),
        tr(_("Reusing a member's result (its buttons, `/show`, Edit image): anyone"))
        if s.button_access is ButtonAccess.ANYONE
        else tr(
            _(
                "Reusing a member's result (its buttons, `/show`, Edit image): "
                "the requester (and admins) only"
            )
        ),
    ]
    embed.add_field(
        name=tr(_("What · `/easel terms`, `/easel output`")), value="\n".join(what), inline=False
    )
    defaults = defaults_field(bot, guild_id, tr)
    embed.add_field(name=tr(_("Defaults · `/easel defaults`")), value=defaults[:1024], inline=False)
    budgets = budgets_field(bot, guild_id, tr)
    embed.add_field(name=tr(_("Budgets · `/easel budget`")), value=budgets[:1024], inline=False)
    log_channel = f"<#{s.moderation_channel}>" if s.moderation_channel else tr(_("off"))
    embed.add_field(name=tr(_("Moderation log · `/easel modlog`")), value=log_channel, inline=False)
    embed.add_field(
        name=tr(_("Language · `/easel language`")),
        value=language_name(s.language, tr.code)
        if s.language
        else tr(_("each member's own Discord language")),
        inline=False,
    )
    embed.set_footer(text=tr(_("Only members with Manage Server can change these.")))
    return embed


def terms_embed(terms: Sequence[str], tr: Lang) -> discord.Embed:
    """A server's blocked terms, for its admins only."""
    text = ", ".join(f"`{escape_term(t)}`" for t in terms)
    if len(text) > MAX_TERMS_TEXT:
        text = text[: MAX_TERMS_TEXT - 10].rsplit(", ", 1)[0] + ", …"
    title = tr(_("Blocked terms ({count})", count=len(terms)))
    embed = discord.Embed(title=title, description=text, colour=COLOUR)
    embed.set_footer(
        text=tr(_("Matching ignores case, accents, spacing, leetspeak and repeated letters."))
    )
    return embed


def escape_term(text: str) -> str:
    """A term for display: it cannot break out of its backticks, mention anyone, or turn the
    rest of the list around with a direction override."""
    return discord.utils.escape_mentions(visible_text(text).replace("`", "'"))
