"""Money in ``/usage``: spend and budgets today and this month, spend per day and per member,
and the admins' report files (a chart image and a CSV)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING

import discord

from bot.billing.chart import chart_png
from bot.billing.money import money
from bot.billing.report import SpendReport, Tally
from bot.policy.budget import Budget, Spent, utc_day

if TYPE_CHECKING:
    from bot.client import EaselBot

CHART_NAME = "easel-usage.png"


async def spend_report(
    bot: EaselBot, guild_id: int, first_day: str, *, user_id: int | None = None
) -> SpendReport:
    """The period from ``first_day`` to today (one member's jobs if ``user_id``)."""
    policy = bot.policy
    jobs = await policy.store.job_spend(guild_id, first_day)
    if user_id is not None:
        jobs = [job for job in jobs if job.user_id == user_id]
    return SpendReport.of(
        jobs, first_day=first_day, last_day=policy.today(guild_id), currency=policy.budgets.currency
    )


def _left(budget: Budget, spent: Spent, currency: str) -> list[str]:
    parts = []
    if budget.monthly is not None:
        left = max(Decimal(0), budget.monthly - spent.month)
        parts.append(f"{money(left, currency)} left of {money(budget.monthly, currency)} a month")
    if budget.daily is not None:
        left = max(Decimal(0), budget.daily - spent.day)
        parts.append(f"{money(left, currency)} left of {money(budget.daily, currency)} today")
    return parts


def today_lines(bot: EaselBot, guild_id: int, user_id: int) -> list[str]:
    """Spend today and this month (running jobs' estimates apart), and the budgets left."""
    policy = bot.policy
    currency = policy.budgets.currency
    if not bot.engine.spec.prices.published:
        return ["Spent: unknown (the image service's prices are not known)"]
    book, day, now = policy.budgets.book, policy.today(guild_id), policy.clock()
    spent = book.spending(guild_id, user_id, day, utc_day(now), held=False)
    held = book.spending(guild_id, user_id, day, utc_day(now))
    lines = [
        f"Spent: {money(spent.member.day, currency)} today, "
        f"{money(spent.member.month, currency)} this month"
    ]
    running = held.member.month - spent.member.month
    if running > 0:
        lines.append(f"Held by running jobs: {money(running, currency)}")
    settings = policy.settings(guild_id)
    if own := _left(settings.budget_of(user_id), held.member, currency):
        lines.append("Your budget: " + ", ".join(own))
    if server := _left(settings.server_budget, held.server, currency):
        lines.append("Server budget: " + ", ".join(server))
    return lines


def cost_suffix(tally: Tally, currency: str, *, priced: bool) -> str:
    """`` · 0.48 USD`` after an images line (nothing where no price was ever known)."""
    return f" · {tally.cost_text(currency)}" if priced else ""


def member_lines(report: SpendReport, limit: int = 15) -> str:
    """``<@id> · 12 images in 5 jobs · 0.48 USD`` for the top members."""
    lines = []
    for user_id, tally in report.top_members(limit):
        images = f"{tally.images} image{'s' if tally.images != 1 else ''}"
        jobs = f"{tally.jobs} job{'s' if tally.jobs != 1 else ''}"
        cost = cost_suffix(tally, report.currency, priced=report.priced)
        lines.append(f"<@{user_id}> · {images} in {jobs}{cost}")
    return "\n".join(lines) or "Nobody yet."


async def report_files(bot: EaselBot, report: SpendReport, guild_id: int) -> list[discord.File]:
    """The chart (drawn in a thread) and the CSV of a server's report."""
    guild = bot.get_guild(guild_id)
    names = {}
    for user_id, _ in report.top_members():
        member = guild.get_member(user_id) if guild is not None else None
        user = member or bot.get_user(user_id)
        names[user_id] = user.display_name if user is not None else str(user_id)
    png = await chart_png(report, names)
    csv_name = f"easel-usage-{report.first_day}-to-{report.last_day}.csv"
    return [
        discord.File(io.BytesIO(png), filename=CHART_NAME),
        discord.File(io.BytesIO(report.csv().encode()), filename=csv_name),
    ]
