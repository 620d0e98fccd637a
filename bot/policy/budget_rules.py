"""The budget rule: a pure check of a job's estimated cost against every budget that applies.

Like the quota rules it reads only what it is given (settings, the spending so far with running
jobs' holds, the time), so it runs before any upstream spend and is tested with plain values.
Each refusal says how much is left, what the job would cost, and when the budget resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_FLOOR, Decimal

from bot.billing.money import money
from bot.errors import PolicyRefusal
from bot.i18n import Day, Value, _, markup
from bot.policy.budget import Budget, Spending, Spent, next_month_start
from bot.policy.models import GuildSettings, JobContext, next_midnight
from bot.policy.rules import Rule, refuse
from bot.providers.prices import UNKNOWN


@dataclass(frozen=True)
class BudgetCheck:
    """One budget that applies to a job: whose it is, its limits and what was spent under it."""

    rule: str
    budget: Budget
    spent: Spent
    zone: tzinfo
    zone_name: str


def budgets_for(
    settings: GuildSettings, ctx: JobContext, spending: Spending, host: Budget
) -> list[BudgetCheck]:
    """The member's, the server's and the host's budgets, in that order, where set."""
    found = []
    if ctx.guild_id is not None:
        zone, name = settings.zone, settings.timezone
        member = BudgetCheck(
            Rule.MEMBER_BUDGET, settings.budget_of(ctx.user_id), spending.member, zone, name
        )
        server = BudgetCheck(
            Rule.SERVER_BUDGET, settings.server_budget, spending.server, zone, name
        )
        found += [member, server]
    found.append(BudgetCheck(Rule.HOST_BUDGET, host, spending.host, UTC, "UTC"))
    return [check for check in found if check.budget.set]


def check_budget(
    settings: GuildSettings,
    ctx: JobContext,
    spending: Spending,
    *,
    host: Budget,
    currency: str,
    now: float,
) -> None:
    """Refuse a job whose estimated cost would take any budget that applies over its limit.

    A job of unknown price cannot be checked, so it is refused wherever a budget applies (the
    budget is the last line of defence against a runaway bill); without one it runs.
    """
    checks = budgets_for(settings, ctx, spending, host)
    if not checks or ctx.cost is None:
        return
    if ctx.cost == UNKNOWN:
        raise refuse(
            Rule.PRICE_UNKNOWN,
            _(
                "A spending budget applies here, but the image service's price for this job is "
                "not known, so Easel can't tell whether it fits. Try another size or quality, or "
                "ask an admin (the host sets prices in the provider's price table)."
            ),
            admin_detail=_("No price in the provider's price table for this size and quality."),
        )
    assert isinstance(ctx.cost, Decimal)
    for check in checks:
        for period, limit, spent, resets in (
            ("daily", check.budget.daily, check.spent.day, next_midnight(now, check.zone)),
            ("monthly", check.budget.monthly, check.spent.month, next_month_start(now, check.zone)),
        ):
            if limit is not None and spent + ctx.cost > limit:
                raise _over(check, ctx, period, limit, spent, resets, currency)


def _over(
    check: BudgetCheck,
    ctx: JobContext,
    period: str,
    limit: Decimal,
    spent: Decimal,
    resets: int,
    currency: str,
) -> PolicyRefusal:
    assert isinstance(ctx.cost, Decimal)
    left = max(Decimal(0), limit - spent)
    cost, left_text, limit_text = (
        money(ctx.cost, currency),
        money(left, currency),
        money(limit, currency),
    )
    daily = period == "daily"
    amounts: dict[str, Value] = {"left": left_text, "limit": limit_text, "cost": cost}
    if check.rule == Rule.MEMBER_BUDGET:
        state = (
            _("You have {left} left of your daily budget of {limit}", **amounts)
            if daily
            else _("You have {left} left of your monthly budget of {limit}", **amounts)
        )
    elif check.rule == Rule.SERVER_BUDGET:
        state = (
            _("This server has {left} left of its daily budget of {limit}", **amounts)
            if daily
            else _("This server has {left} left of its monthly budget of {limit}", **amounts)
        )
    else:
        state = (
            _("Easel has {left} left of its daily budget of {limit} for all servers", **amounts)
            if daily
            else _(
                "Easel has {left} left of its monthly budget of {limit} for all servers",
                **amounts,
            )
        )
    spending: dict[str, Value] = {
        "limit": limit_text,
        "spent": money(spent, currency),
        "cost": cost,
    }
    fits = affordable(ctx, left)
    when = datetime.fromtimestamp(resets, check.zone)
    # Discord writes the relative time in the reader's words; the date is the server's.
    reset = _(
        "It resets {when} ({date}, 00:00 {zone}).",
        when=markup.relative_time(resets),
        date=Day(iso=when.date().isoformat()),
        zone=check.zone_name,
    )
    # Translators: how far over the budget, the job's cost, what to do, when it resets.
    message = (
        _(
            "{state}; this job would cost about {cost}. Ask for `n:{fits}`, or wait until it "
            "resets. {reset}",
            state=state,
            cost=cost,
            fits=fits,
            reset=reset,
        )
        if fits
        else _(
            "{state}; this job would cost about {cost}. {reset}",
            state=state,
            cost=cost,
            reset=reset,
        )
    )
    return refuse(
        check.rule,
        message,
        admin_detail=_(
            "Daily budget {limit}: {spent} spent or held, this job estimated at {cost}.",
            **spending,
        )
        if daily
        else _(
            "Monthly budget {limit}: {spent} spent or held, this job estimated at {cost}.",
            **spending,
        ),
    )


def affordable(ctx: JobContext, left: Decimal) -> int | None:
    """The largest smaller ``n`` whose cost fits in ``left`` (None: none, or no image price)."""
    if ctx.n <= 1 or not isinstance(ctx.image_cost, Decimal) or ctx.image_cost <= 0:
        return None
    assert isinstance(ctx.cost, Decimal)
    fixed = ctx.cost - ctx.image_cost * ctx.n  # input images, billed once
    count = int(((left - fixed) / ctx.image_cost).to_integral_value(rounding=ROUND_FLOOR))
    return count if 1 <= count < ctx.n else None
