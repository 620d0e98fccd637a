"""``/usage``: a member's own images and what is left today; for admins, the server's books."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.app_commands import Range
from discord.ext import commands

from bot.billing.report import SpendReport
from bot.client import NO_MENTIONS, Interaction
from bot.i18n import Day, Lang, _, _n, markup
from bot.policy.records import DayUsage, EventCount
from bot.policy.rules import rule_title
from cogs._answers import answer_privately, server_of
from cogs._i18n import lang_for
from cogs._policy import is_admin
from cogs._render import failure_name
from cogs._spend import (
    CHART_NAME,
    cost_suffix,
    cost_value,
    images_in_jobs,
    member_lines,
    report_files,
    spend_report,
    today_lines,
)

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

COLOUR = discord.Colour.blurple()


def day_lines(days: list[DayUsage], tr: Lang, spend: SpendReport | None = None) -> str:
    """``Wed, Aug 5 · 12 images in 5 jobs · 0.48 USD`` per day, newest first."""
    if not days:
        return tr(_("No images yet."))
    lines = []
    for d in days:
        cost = ""
        if spend is not None and (tally := spend.by_day.get(d.day)) is not None:
            cost = cost_suffix(tally, spend.currency, tr, priced=spend.priced)
        shown = tr.value(Day(iso=d.day))
        lines.append(f"`{shown}` · {tr(images_in_jobs(d.images, d.jobs))}{cost}")
    return "\n".join(lines)


def event_lines(events: list[EventCount], tr: Lang) -> str:
    """Failures and refusals, by kind, most frequent first."""
    if not events:
        return tr(_("None."))
    lines = []
    for e in events:
        if e.event == "refused":
            what = _("refused by the server's rules: {rule}", rule=rule_title(e.rule))
        else:
            kind = failure_name(e.rule)
            what = _("failed: {kind}", kind=kind)
        lines.append(f"{tr.number(e.count)} × {tr(what)}")
    return "\n".join(lines)


class Usage(commands.Cog):
    """Who made how many images, and how much is left."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="usage", description="Your images and spending, and what is left")
    @app_commands.guild_only()
    @app_commands.describe(
        report="me: your own usage · server: the server's, with a chart and CSV (Manage Server)",
        member="Another member's usage (Manage Server)",
        days="How many days back to show (1-92, default 7)",
    )
    async def usage_command(
        self,
        interaction: Interaction,
        report: Literal["me", "server"] = "me",
        member: discord.User | None = None,
        days: Range[int, 1, 92] = 7,
    ) -> None:
        """Private: your usage, or (admins) the server's by day and by member, with refusals."""
        guild_id = server_of(interaction, _("`/usage` counts images per server: use it in one."))
        tr = lang_for(interaction)
        wants_others = report == "server" or (
            member is not None and member.id != interaction.user.id
        )
        if wants_others and not is_admin(interaction):
            await answer_privately(
                interaction,
                tr(
                    _(
                        "🚫 Only members with **Manage Server** can see the server's or others' "
                        "usage. `/usage` alone shows yours."
                    )
                ),
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        files: list[discord.File] = []
        if report == "server":
            embed, files = await self.server_embed(guild_id, days, tr)
        else:
            target = member or interaction.user
            embed = await self.member_embed(
                guild_id, target.id, days, tr, own=target == interaction.user
            )
        await interaction.followup.send(
            embed=embed, files=files, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def member_embed(
        self, guild_id: int, user_id: int, days: int, tr: Lang, *, own: bool
    ) -> discord.Embed:
        """A member's standing today, their last days, and their refusals."""
        policy = self.bot.policy
        status = await policy.current_status(guild_id, user_id)
        title = tr(_("Your Easel usage")) if own else tr(_("Easel usage"))
        embed = discord.Embed(title=title, colour=COLOUR)
        if not own:
            embed.description = f"<@{user_id}>"
        today = [tr(_n("Made: {count} image", "Made: {count} images", status.used))]
        if status.pending:
            today.append(
                tr(_("Running: {count} (counted only if delivered)", count=status.pending))
            )
        if status.limit is not None:
            left = status.left or 0
            today.append(
                tr(_("Daily limit: {limit} · left: {left}", limit=status.limit, left=left))
            )
        else:
            today.append(tr(_("Daily limit: none")))
        if status.server_limit is not None:
            server_used = status.server_used + status.server_pending
            today.append(
                tr(
                    _(
                        "Server today: {used} of {limit}",
                        used=server_used,
                        limit=status.server_limit,
                    )
                )
            )
        if status.limit is not None or status.server_limit is not None:
            reset = (
                f"{markup.relative_time(status.resets_at)} ({markup.short_time(status.resets_at)})"
            )
            today.append(tr(_("Resets {when}", when=reset)))
        if status.ready_at is not None:
            when = markup.relative_time(int(status.ready_at) + 1)
            today.append(tr(_("Cooldown: you can start another job {when}", when=when)))
        today.extend(today_lines(self.bot, guild_id, user_id, tr))
        embed.add_field(name=tr(_("Today")), value="\n".join(today), inline=False)
        first = policy.first_day(guild_id, days)
        history = await policy.store.usage_by_day(guild_id, first, user_id=user_id)
        spend = await spend_report(self.bot, guild_id, first, user_id=user_id)
        embed.add_field(
            name=tr(_n("Last {count} day", "Last {count} days", days)),
            value=day_lines(history, tr, spend)[:1024],
            inline=False,
        )
        events = await policy.store.event_counts(guild_id, first, user_id=user_id)
        embed.add_field(
            name=tr(_("Failures and refusals")), value=event_lines(events, tr), inline=False
        )
        embed.set_footer(
            text=tr(
                _(
                    "Images count only when delivered; a failed job costs only what the image "
                    "service bills for it (usually nothing)."
                )
            )
        )
        return embed

    async def server_embed(
        self, guild_id: int, days: int, tr: Lang
    ) -> tuple[discord.Embed, list[discord.File]]:
        """The server's images and spend by day and by member, its failures and refusals, and
        the report as a chart and a CSV."""
        policy = self.bot.policy
        store = policy.store
        first = policy.first_day(guild_id, days)
        by_day = await store.usage_by_day(guild_id, first)
        events = await store.event_counts(guild_id, first)
        spend = await spend_report(self.bot, guild_id, first)
        total = sum(d.images for d in by_day)
        period = _n("{count} day", "{count} days", days)
        description = (
            _n(
                "{count} image in the last {days} · spent {cost}.",
                "{count} images in the last {days} · spent {cost}.",
                total,
                days=period,
                cost=cost_value(spend.total, spend.currency),
            )
            if spend.total.jobs
            else _n(
                "{count} image in the last {days}.",
                "{count} images in the last {days}.",
                total,
                days=period,
            )
        )
        embed = discord.Embed(
            title=tr(_("Easel usage in this server")), description=tr(description), colour=COLOUR
        )
        embed.add_field(
            name=tr(_("By day")), value=day_lines(by_day, tr, spend)[:1024], inline=False
        )
        embed.add_field(name=tr(_("By member")), value=member_lines(spend, tr)[:1024], inline=False)
        embed.add_field(
            name=tr(_("Failures and refusals")),
            value=event_lines(events, tr)[:1024],
            inline=False,
        )
        embed.set_image(url=f"attachment://{CHART_NAME}")
        zone = policy.settings(guild_id).timezone
        embed.set_footer(
            text=tr(
                _(
                    "Days start at midnight {timezone}. The CSV has every day and member.",
                    timezone=zone,
                )
            )
        )
        embed.timestamp = discord.utils.utcnow()
        return embed, await report_files(self.bot, spend, guild_id)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Usage(bot))
