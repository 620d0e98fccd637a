"""What ``/easel`` shows: a server's settings in one embed, and its blocked terms.

Pure functions from the policy's state to embeds; mentions in them never ping (every message
disables mentions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

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


def mentions(ids: frozenset[int], template: str, *, empty: str) -> str:
    """A few ids as mentions (they never ping: every message disables mentions)."""
    if not ids:
        return empty
    shown = [template.format(i) for i in sorted(ids)[:MAX_LISTED]]
    more = len(ids) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def limit_text(value: int | None, unit: str) -> str:
    """``20 images`` or ``no limit``."""
    return "no limit" if value is None else f"{value} {unit}"


def overview_embed(bot: EaselBot, guild_id: int) -> discord.Embed:
    """Every setting of a server in one embed."""
    policy = bot.policy
    s = policy.settings(guild_id)
    status = policy.status(guild_id, 0)
    embed = discord.Embed(title="Easel settings for this server", colour=COLOUR)
    where = [
        "Allowed: "
        + mentions(s.allowed_channels, "<#{}>", empty="every channel that is not denied"),
        "Denied: " + mentions(s.denied_channels, "<#{}>", empty="none"),
        f"Threads: {'allowed' if s.threads else 'not allowed'}",
        f"Age-restricted (NSFW) channels only: {'yes' if s.nsfw_only else 'no'}",
        "Direct messages: on"
        if policy.dms_allowed
        else "Direct messages: off (Easel's commands work in servers only)",
    ]
    embed.add_field(
        name="Where · `/easel channel`, `/easel where`", value="\n".join(where), inline=False
    )
    who = [
        "Required roles (any one): " + mentions(s.required_roles, "<@&{}>", empty="none"),
        "Blocked members: " + mentions(s.banned_members, "<@{}>", empty="none"),
    ]
    embed.add_field(name="Who · `/easel role`, `/easel ban`", value="\n".join(who), inline=False)
    used = status.server_used + status.server_pending
    server_today = f"{used}" + (f" of {s.server_daily_images}" if s.server_daily_images else "")
    how_much = [
        f"Per member per day: {limit_text(s.member_daily_images, 'images')}",
        f"Per server per day: {limit_text(s.server_daily_images, 'images')} "
        f"(today: {server_today})",
        f"Cooldown between jobs: {s.cooldown_seconds}s"
        if s.cooldown_seconds
        else "Cooldown between jobs: none",
        f"Images per job: up to {s.max_n} · resolution: up to {s.max_resolution}",
        "Commands on: " + (", ".join(f"`/{c}`" for c in JobCommand if c in s.commands) or "none"),
        f"Day starts at midnight {s.timezone} (next reset <t:{status.resets_at}:R>)",
    ]
    embed.add_field(
        name="How much · `/easel limits`, `/easel command`", value="\n".join(how_much), inline=False
    )
    what = [
        f"Blocked terms: {len(policy.terms(guild_id))} (`/easel terms list`)",
        f"Results as spoilers: {'yes' if s.spoilers else 'no'}",
        "Reusing a member's result (its buttons, `/show`, Edit image): "
        + (
            "anyone"
            if s.button_access is ButtonAccess.ANYONE
            else "the requester (and admins) only"
        ),
    ]
    embed.add_field(
        name="What · `/easel terms`, `/easel output`", value="\n".join(what), inline=False
    )
    defaults = defaults_field(bot, guild_id)
    embed.add_field(name="Defaults · `/easel defaults`", value=defaults[:1024], inline=False)
    budgets = budgets_field(bot, guild_id)
    embed.add_field(name="Budgets · `/easel budget`", value=budgets[:1024], inline=False)
    log_channel = f"<#{s.moderation_channel}>" if s.moderation_channel else "off"
    embed.add_field(name="Moderation log · `/easel modlog`", value=log_channel, inline=False)
    embed.set_footer(text="Only members with Manage Server can change these.")
    return embed


def terms_embed(terms: Sequence[str]) -> discord.Embed:
    """A server's blocked terms, for its admins only."""
    text = ", ".join(f"`{escape_term(t)}`" for t in terms)
    if len(text) > MAX_TERMS_TEXT:
        text = text[: MAX_TERMS_TEXT - 10].rsplit(", ", 1)[0] + ", …"
    embed = discord.Embed(title=f"Blocked terms ({len(terms)})", description=text, colour=COLOUR)
    embed.set_footer(
        text="Matching ignores case, accents, spacing, leetspeak and repeated letters."
    )
    return embed


def escape_term(text: str) -> str:
    """A term for display: it cannot break out of its backticks, mention anyone, or turn the
    rest of the list around with a direction override."""
    return discord.utils.escape_mentions(visible_text(text).replace("`", "'"))
