"""``/easel budget``: how much money Easel may spend per month (and per day), for the whole
server and for each member, in the currency of the image service's price table.

A job whose estimate would go over is refused before any request, privately, saying what is
left and when the budget resets; the moderation log notes it. A budget needs prices: with an
image service whose prices are unknown, setting one is refused (clearing always works).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.billing.money import money, parse_amount
from bot.client import Interaction
from bot.errors import InputError
from bot.policy.budget import Budget, next_month_start
from bot.policy.models import next_midnight
from cogs._admin_defaults import admin_only
from cogs._answers import answer_privately

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

AMOUNT_HELP = "in the image service's currency, e.g. 25 or 0.50; off: no limit"


def budget_text(budget: Budget, currency: str) -> str:
    """``0.10 USD a month, 0.05 USD a day`` or ``no limit``."""
    parts = []
    if budget.monthly is not None:
        parts.append(f"{money(budget.monthly, currency)} a month")
    if budget.daily is not None:
        parts.append(f"{money(budget.daily, currency)} a day")
    return ", ".join(parts) or "no limit"


def changed_budget(before: Budget, monthly: str | None, daily: str | None) -> Budget:
    """``before`` with the amounts given (left out: unchanged; off: no limit)."""
    values: dict[str, Any] = before.model_dump()
    for period, text in (("monthly", monthly), ("daily", daily)):
        if text is not None:
            try:
                values[period] = parse_amount(text, what=f"{period} budget")
            except ValueError as exc:
                raise InputError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    return Budget.model_validate(values)


def budgets_field(bot: EaselBot, guild_id: int) -> str:
    """The server's budgets and what was spent this month, for ``/easel settings``."""
    policy = bot.policy
    settings = policy.settings(guild_id)
    currency = policy.budgets.currency
    lines = [
        f"Server: {budget_text(settings.server_budget, currency)}",
        f"Each member: {budget_text(settings.member_budget, currency)}",
    ]
    if settings.member_budgets:
        own = ", ".join(
            f"<@{user}> {budget_text(budget, currency)}"
            for user, budget in sorted(settings.member_budgets.items())[:5]
        )
        more = len(settings.member_budgets) - 5
        lines.append(f"Own budgets: {own}" + (f" and {more} more" if more > 0 else ""))
    now = policy.clock()
    spent = policy.budgets.spending(guild_id, 0, policy.today(guild_id), now).server
    lines.append(
        f"Spent this month: {money(spent.month, currency)} (today {money(spent.day, currency)}, "
        "running jobs included)"
    )
    if not bot.engine.spec.prices.published:
        lines.append("⚠️ The image service's prices are unknown: spend shows as unknown.")
    return "\n".join(lines)


class BudgetGroup(app_commands.Group, name="budget", description="Spending limits in money"):
    """The server's, each member's and single members' budgets."""

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Manage Server only, like every ``/easel`` command."""
        return await admin_only(interaction)

    async def _save(
        self, interaction: Interaction, label: str, before: Budget, after: Budget, **change: Any
    ) -> None:
        """Refuse a budget no job could be checked against; save; say what it means."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        engine, policy = interaction.client.engine, interaction.client.policy
        tighter = after.set and after != before
        if tighter and not engine.spec.prices.published:
            raise InputError(
                f"Easel can't keep a budget here: the prices of {engine.label} are unknown, so "
                "no job's cost could be checked. The host sets them in the provider's price "
                "table (IMAGE_PROFILES_FILE; see the README's 'Prices')."
            )
        await policy.update(guild_id, by=interaction.user.id, **change)
        settings = policy.settings(guild_id)
        currency = policy.budgets.currency
        now = policy.clock()
        month, day = next_month_start(now, settings.zone), next_midnight(now, settings.zone)
        resets = (
            f"Months reset <t:{month}:R> and days <t:{day}:R> (midnight {settings.timezone})."
            if after.set
            else ""
        )
        await answer_privately(
            interaction,
            f"✅ {label}: {budget_text(after, currency)}. Jobs that would go over are refused "
            f"before anything is spent. {resets}".strip(),
        )

    @app_commands.command(name="server", description="The whole server's budget")
    @app_commands.describe(monthly=f"Per month, {AMOUNT_HELP}", daily=f"Per day, {AMOUNT_HELP}")
    async def server(
        self, interaction: Interaction, monthly: str | None = None, daily: str | None = None
    ) -> None:
        """Set the server's monthly and daily budgets (left out: unchanged)."""
        assert interaction.guild_id is not None
        before = interaction.client.policy.settings(interaction.guild_id).server_budget
        after = changed_budget(before, monthly, daily)
        await self._save(interaction, "Server budget", before, after, server_budget=after)

    @app_commands.command(name="members", description="Each member's budget")
    @app_commands.describe(monthly=f"Per month, {AMOUNT_HELP}", daily=f"Per day, {AMOUNT_HELP}")
    async def members(
        self, interaction: Interaction, monthly: str | None = None, daily: str | None = None
    ) -> None:
        """Set the budget every member has (unless they have their own)."""
        assert interaction.guild_id is not None
        before = interaction.client.policy.settings(interaction.guild_id).member_budget
        after = changed_budget(before, monthly, daily)
        await self._save(interaction, "Each member's budget", before, after, member_budget=after)

    @app_commands.command(name="member", description="One member's own budget")
    @app_commands.describe(
        member="The member",
        monthly=f"Per month, {AMOUNT_HELP}",
        daily=f"Per day, {AMOUNT_HELP}",
        clear="Drop their own budget: they get every member's again",
    )
    async def member(
        self,
        interaction: Interaction,
        member: discord.User,
        monthly: str | None = None,
        daily: str | None = None,
        clear: bool = False,
    ) -> None:
        """Give one member a budget of their own (instead of every member's), or take it away."""
        assert interaction.guild_id is not None
        settings = interaction.client.policy.settings(interaction.guild_id)
        own = dict(settings.member_budgets)
        if clear:
            own.pop(member.id, None)
            after = settings.member_budget
            label = f"<@{member.id}> has every member's budget again"
            await self._save(interaction, label, after, after, member_budgets=own)
            return
        before = own.get(member.id, settings.member_budget)
        after = changed_budget(before, monthly, daily)
        own[member.id] = after
        label = f"<@{member.id}>'s own budget"
        await self._save(interaction, label, before, after, member_budgets=own)
