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

from bot.billing.money import MAX_AMOUNT, AmountError, money, parse_amount
from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import Items, Lang, Text, Value, _, _n, markup
from bot.policy.budget import Budget, next_month_start
from bot.policy.models import next_midnight
from cogs._admin_defaults import admin_only
from cogs._answers import answer_privately
from cogs._i18n import lang_for

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

MONTHLY_HELP = "Per month, in the image service's currency, e.g. 25 or 0.50; off: no limit"
DAILY_HELP = "Per day, in the image service's currency, e.g. 25 or 0.50; off: no limit"
# How a typed amount was wrong, per budget (``AmountError.kind``).
BAD_AMOUNT = {
    ("monthly", "number"): _(
        "The monthly budget must be a number like 25 or 0.50, or off (got {typed})."
    ),
    ("daily", "number"): _(
        "The daily budget must be a number like 25 or 0.50, or off (got {typed})."
    ),
    ("monthly", "negative"): _("The monthly budget must be 0 or more (got {typed})."),
    ("daily", "negative"): _("The daily budget must be 0 or more (got {typed})."),
    ("monthly", "too big"): _("The monthly budget must be less than {limit}."),
    ("daily", "too big"): _("The daily budget must be less than {limit}."),
    ("monthly", "decimals"): _("The monthly budget can have at most 4 decimals (got {typed})."),
    ("daily", "decimals"): _("The daily budget can have at most 4 decimals (got {typed})."),
}


def budget_text(budget: Budget, currency: str) -> Value:
    """``0.10 USD a month, 0.05 USD a day`` or ``no limit`` (``Lang.value`` writes it)."""
    parts: list[Value] = []
    if budget.monthly is not None:
        parts.append(_("{amount} a month", amount=money(budget.monthly, currency)))
    if budget.daily is not None:
        parts.append(_("{amount} a day", amount=money(budget.daily, currency)))
    return Items(items=tuple(parts)) if parts else _("no limit")


def changed_budget(before: Budget, monthly: str | None, daily: str | None) -> Budget:
    """``before`` with the amounts given (left out: unchanged; off: no limit)."""
    values: dict[str, Any] = before.model_dump()
    for period, text in (("monthly", monthly), ("daily", daily)):
        if text is not None:
            try:
                values[period] = parse_amount(text, what=f"{period} budget")
            except AmountError as exc:
                problem: Text = BAD_AMOUNT[period, exc.kind]
                problem = problem.model_copy(
                    update={"values": {"typed": repr(exc.typed), "limit": int(MAX_AMOUNT)}}
                )
                raise InputError(problem) from None
    return Budget.model_validate(values)


def budgets_field(bot: EaselBot, guild_id: int, tr: Lang) -> str:
    """The server's budgets and what was spent this month, for ``/easel settings``."""
    policy = bot.policy
    settings = policy.settings(guild_id)
    currency = policy.budgets.currency
    lines = [
        tr(_("Server: {budget}", budget=budget_text(settings.server_budget, currency))),
        tr(_("Each member: {budget}", budget=budget_text(settings.member_budget, currency))),
    ]
    if settings.member_budgets:
        shown = sorted(settings.member_budgets.items())[:5]
        own: list[Value] = [
            f"{markup.user(user)} {tr.value(budget_text(budget, currency))}"
            for user, budget in shown
        ]
        if (more := len(settings.member_budgets) - len(shown)) > 0:
            own.append(_n("{count} more", "{count} more", more))
        lines.append(tr(_("Own budgets: {budgets}", budgets=Items(items=tuple(own)))))
    now = policy.clock()
    spent = policy.budgets.spending(guild_id, 0, policy.today(guild_id), now).server
    lines.append(
        tr(
            _(
                "Spent this month: {month} (today {day}, running jobs included)",
                month=money(spent.month, currency),
                day=money(spent.day, currency),
            )
        )
    )
    if not bot.engine.spec.prices.published:
        lines.append(tr(_("⚠️ The image service's prices are unknown: spend shows as unknown.")))
    return "\n".join(lines)


class BudgetGroup(app_commands.Group, name="budget", description="Spending limits in money"):
    """The server's, each member's and single members' budgets."""

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Manage Server only, like every ``/easel`` command."""
        return await admin_only(interaction)

    async def _save(
        self, interaction: Interaction, label: Text, before: Budget, after: Budget, **change: Any
    ) -> None:
        """Refuse a budget no job could be checked against; save; say what it means."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        tr = lang_for(interaction)
        engine, policy = interaction.client.engine, interaction.client.policy
        tighter = after.set and after != before
        if tighter and not engine.spec.prices.published:
            raise InputError(
                _(
                    "Easel can't keep a budget here: the prices of {service} are unknown, so no "
                    "job's cost could be checked. The host sets them in the provider's price "
                    "table (IMAGE_PROFILES_FILE; see the README's 'Prices').",
                    service=engine.label,
                )
            )
        await policy.update(guild_id, by=interaction.user.id, **change)
        settings = policy.settings(guild_id)
        currency = policy.budgets.currency
        now = policy.clock()
        month, day = next_month_start(now, settings.zone), next_midnight(now, settings.zone)
        text = tr(
            _(
                "✅ {label}: {budget}. Jobs that would go over are refused before anything is "
                "spent.",
                label=label,
                budget=budget_text(after, currency),
            )
        )
        if after.set:
            # Discord writes the relative times in the reader's words.
            text += " " + tr(
                _(
                    "Months reset {month} and days {day} (midnight {timezone}).",
                    month=markup.relative_time(month),
                    day=markup.relative_time(day),
                    timezone=settings.timezone,
                )
            )
        await answer_privately(interaction, text)

    @app_commands.command(name="server", description="The whole server's budget")
    @app_commands.describe(monthly=MONTHLY_HELP, daily=DAILY_HELP)
    async def server(
        self, interaction: Interaction, monthly: str | None = None, daily: str | None = None
    ) -> None:
        """Set the server's monthly and daily budgets (left out: unchanged)."""
        assert interaction.guild_id is not None
        before = interaction.client.policy.settings(interaction.guild_id).server_budget
        after = changed_budget(before, monthly, daily)
        await self._save(interaction, _("Server budget"), before, after, server_budget=after)

    @app_commands.command(name="members", description="Each member's budget")
    @app_commands.describe(monthly=MONTHLY_HELP, daily=DAILY_HELP)
    async def members(
        self, interaction: Interaction, monthly: str | None = None, daily: str | None = None
    ) -> None:
        """Set the budget every member has (unless they have their own)."""
        assert interaction.guild_id is not None
        before = interaction.client.policy.settings(interaction.guild_id).member_budget
        after = changed_budget(before, monthly, daily)
        await self._save(interaction, _("Each member's budget"), before, after, member_budget=after)

    @app_commands.command(name="member", description="One member's own budget")
    @app_commands.describe(
        member="The member",
        monthly=MONTHLY_HELP,
        daily=DAILY_HELP,
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
            label = _("{member} has every member's budget again", member=markup.user(member.id))
            await self._save(interaction, label, after, after, member_budgets=own)
            return
        before = own.get(member.id, settings.member_budget)
        after = changed_budget(before, monthly, daily)
        own[member.id] = after
        label = _("{member}'s own budget", member=markup.user(member.id))
        await self._save(interaction, label, before, after, member_budgets=own)
