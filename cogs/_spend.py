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
from bot.i18n import Items, Lang, Text, Value, _, _n, markup
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


def images_in_jobs(images: int, jobs: int) -> Text:
    """ "12 images in 5 jobs"."""
    # Translators: e.g. "12 images in 5 jobs".
    return _(
        "{images} in {jobs}",
        images=_n("{count} image", "{count} images", images),
        jobs=_n("{count} job", "{count} jobs", jobs),
    )


def cost_value(tally: Tally, currency: str) -> Value:
    """``0.48 USD``; ``unknown``; or ``0.48 USD + 2 jobs at an unknown price`` (what
    ``Tally.cost_text`` says in English, for the reader's language)."""
    if tally.known:
        return money(tally.cost, currency)
    if tally.cost == 0:
        return _("unknown")
    return _n(
        "{amount} + {count} job at an unknown price",
        "{amount} + {count} jobs at an unknown price",
        tally.unknown,
        amount=money(tally.cost, currency),
    )


def _left(budget: Budget, spent: Spent, currency: str) -> list[Value]:
    parts: list[Value] = []
    for monthly, limit, used in (
        (True, budget.monthly, spent.month),
        (False, budget.daily, spent.day),
    ):
        if limit is None:
            continue
        amounts = {
            "left": money(max(Decimal(0), limit - used), currency),
            "limit": money(limit, currency),
        }
        parts.append(
            _("{left} left of {limit} a month", **amounts)
            if monthly
            else _("{left} left of {limit} today", **amounts)
        )
    return parts


def today_lines(bot: EaselBot, guild_id: int, user_id: int, tr: Lang) -> list[str]:
    """Spend today and this month (running jobs' estimates apart), and the budgets left."""
    policy = bot.policy
    currency = policy.budgets.currency
    if not bot.engine.spec.prices.published:
        return [tr(_("Spent: unknown (the image service's prices are not known)"))]
    book, day, now = policy.budgets.book, policy.today(guild_id), policy.clock()
    spent = book.spending(guild_id, user_id, day, utc_day(now), held=False)
    held = book.spending(guild_id, user_id, day, utc_day(now))
    lines = [
        tr(
            _(
                "Spent: {day} today, {month} this month",
                day=money(spent.member.day, currency),
                month=money(spent.member.month, currency),
            )
        )
    ]
    running = held.member.month - spent.member.month
    if running > 0:
        lines.append(tr(_("Held by running jobs: {amount}", amount=money(running, currency))))
    settings = policy.settings(guild_id)
    if own := _left(settings.budget_of(user_id), held.member, currency):
        lines.append(tr(_("Your budget: {left}", left=Items(items=tuple(own)))))
    if server := _left(settings.server_budget, held.server, currency):
        lines.append(tr(_("Server budget: {left}", left=Items(items=tuple(server)))))
    return lines


def cost_suffix(tally: Tally, currency: str, tr: Lang, *, priced: bool) -> str:
    """`` · 0.48 USD`` after an images line (nothing where no price was ever known)."""
    return f" · {tr.value(cost_value(tally, currency))}" if priced else ""


def member_lines(report: SpendReport, tr: Lang, limit: int = 15) -> str:
    """``<@id> · 12 images in 5 jobs · 0.48 USD`` for the top members."""
    lines = []
    for user_id, tally in report.top_members(limit):
        cost = cost_suffix(tally, report.currency, tr, priced=report.priced)
        lines.append(
            f"{markup.user(user_id)} · {tr(images_in_jobs(tally.images, tally.jobs))}{cost}"
        )
    return "\n".join(lines) or tr(_("Nobody yet."))


async def report_files(bot: EaselBot, report: SpendReport, guild_id: int) -> list[discord.File]:
    """The chart (drawn in a thread) and the CSV of a server's report."""
    guild = bot.get_guild(guild_id)
    names = {}
    for user_id, _tally in report.top_members():
        member = guild.get_member(user_id) if guild is not None else None
        user = member or bot.get_user(user_id)
        names[user_id] = user.display_name if user is not None else str(user_id)
    png = await chart_png(report, names)
    csv_name = f"easel-usage-{report.first_day}-to-{report.last_day}.csv"
    return [
        discord.File(io.BytesIO(png), filename=CHART_NAME),
        discord.File(io.BytesIO(report.csv().encode()), filename=csv_name),
    ]
