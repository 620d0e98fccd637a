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
from bot.policy.records import DayUsage, EventCount
from bot.policy.rules import RULE_TITLES
from cogs._answers import answer_privately
from cogs._policy import is_admin
from cogs._spend import (
    CHART_NAME,
    cost_suffix,
    member_lines,
    report_files,
    spend_report,
    today_lines,
)

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

COLOUR = discord.Colour.blurple()
FAILURE_NAMES = {
    "refusal": "refused by the image service's safety system",
    "upstream": "image service errors",
    "timeout": "timed out",
    "input": "unusable input",
    "cancelled": "cancelled",
    "internal": "Easel errors",
    "interrupted": "cut off by a restart",
    "undeliverable": "made but the member could not be reached",
}


def day_lines(days: list[DayUsage], spend: SpendReport | None = None) -> str:
    """``2026-08-05 · 12 images in 5 jobs · 0.48 USD`` per day, newest first."""
    if not days:
        return "No images yet."
    lines = []
    for d in days:
        cost = ""
        if spend is not None and (tally := spend.by_day.get(d.day)) is not None:
            cost = cost_suffix(tally, spend.currency, priced=spend.priced)
        lines.append(
            f"`{d.day}` · {d.images} image{'s' if d.images != 1 else ''} in {d.jobs} "
            f"job{'s' if d.jobs != 1 else ''}{cost}"
        )
    return "\n".join(lines)


def event_lines(events: list[EventCount]) -> str:
    """Failures and refusals, by kind, most frequent first."""
    if not events:
        return "None."
    lines = []
    for e in events:
        if e.event == "refused":
            what = f"refused by the server's rules: {RULE_TITLES.get(e.rule or '', e.rule)}"
        else:
            what = f"failed: {FAILURE_NAMES.get(e.rule or '', e.rule or 'unknown')}"
        lines.append(f"{e.count} × {what}")
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
        guild_id = interaction.guild_id
        if guild_id is None:
            await answer_privately(interaction, "`/usage` counts images per server: use it in one.")
            return
        wants_others = report == "server" or (
            member is not None and member.id != interaction.user.id
        )
        if wants_others and not is_admin(interaction):
            await answer_privately(
                interaction,
                "🚫 Only members with **Manage Server** can see the server's or others' usage. "
                "`/usage` alone shows yours.",
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        files: list[discord.File] = []
        if report == "server":
            embed, files = await self.server_embed(guild_id, days)
        else:
            target = member or interaction.user
            embed = await self.member_embed(
                guild_id, target.id, days, own=target == interaction.user
            )
        await interaction.followup.send(
            embed=embed, files=files, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def member_embed(
        self, guild_id: int, user_id: int, days: int, *, own: bool
    ) -> discord.Embed:
        """A member's standing today, their last days, and their refusals."""
        policy = self.bot.policy
        status = policy.status(guild_id, user_id)
        title = "Your Easel usage" if own else "Easel usage"
        embed = discord.Embed(title=title, colour=COLOUR)
        if not own:
            embed.description = f"<@{user_id}>"
        today = [f"Made: {status.used} image{'s' if status.used != 1 else ''}"]
        if status.pending:
            today.append(f"Running: {status.pending} (counted only if delivered)")
        if status.limit is not None:
            today.append(f"Daily limit: {status.limit} · left: {status.left}")
        else:
            today.append("Daily limit: none")
        if status.server_limit is not None:
            server_used = status.server_used + status.server_pending
            today.append(f"Server today: {server_used} of {status.server_limit}")
        if status.limit is not None or status.server_limit is not None:
            today.append(f"Resets <t:{status.resets_at}:R> (<t:{status.resets_at}:t>)")
        if status.ready_at is not None:
            today.append(f"Cooldown: you can start another job <t:{int(status.ready_at) + 1}:R>")
        today.extend(today_lines(self.bot, guild_id, user_id))
        embed.add_field(name="Today", value="\n".join(today), inline=False)
        first = policy.first_day(guild_id, days)
        history = await policy.store.usage_by_day(guild_id, first, user_id=user_id)
        spend = await spend_report(self.bot, guild_id, first, user_id=user_id)
        embed.add_field(
            name=f"Last {days} day(s)", value=day_lines(history, spend)[:1024], inline=False
        )
        events = await policy.store.event_counts(guild_id, first, user_id=user_id)
        embed.add_field(name="Failures and refusals", value=event_lines(events), inline=False)
        embed.set_footer(
            text="Images count only when delivered; a failed job costs only what the image "
            "service bills for it (usually nothing)."
        )
        return embed

    async def server_embed(
        self, guild_id: int, days: int
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
        cost = f" · spent {spend.total.cost_text(spend.currency)}" if spend.total.jobs else ""
        embed = discord.Embed(
            title="Easel usage in this server",
            description=f"{total} image{'s' if total != 1 else ''} in the last {days} day(s)"
            f"{cost}.",
            colour=COLOUR,
        )
        embed.add_field(name="By day", value=day_lines(by_day, spend)[:1024], inline=False)
        embed.add_field(name="By member", value=member_lines(spend)[:1024], inline=False)
        embed.add_field(
            name="Failures and refusals", value=event_lines(events)[:1024], inline=False
        )
        embed.set_image(url=f"attachment://{CHART_NAME}")
        embed.set_footer(
            text=f"Days start at midnight {policy.settings(guild_id).timezone}. The CSV has "
            "every day and member."
        )
        embed.timestamp = discord.utils.utcnow()
        return embed, await report_files(self.bot, spend, guild_id)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Usage(bot))
