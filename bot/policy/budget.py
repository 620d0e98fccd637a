"""Budgets in money: how much may be spent per month (and per day), and when each period ends.

A server's admins set a budget for the whole server and one for each member (in the currency of
the image service's price table); the host sets one for all servers together
(``GLOBAL_MONTHLY_BUDGET``). Days and months start at midnight in the server's timezone; the
host's budget runs on UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from bot.providers.prices import Amount


class Budget(BaseModel):
    """At most ``monthly`` per calendar month and ``daily`` per day; None: no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    monthly: Amount | None = Field(default=None, lt=Decimal("1000000000"))
    daily: Amount | None = Field(default=None, lt=Decimal("1000000000"))

    @property
    def set(self) -> bool:
        """Whether any limit is set."""
        return self.monthly is not None or self.daily is not None


NO_BUDGET = Budget()


@dataclass(frozen=True)
class Spent:
    """Money spent (and held by running jobs) on one day and in its month."""

    day: Decimal = Decimal(0)
    month: Decimal = Decimal(0)


@dataclass(frozen=True)
class Spending:
    """What a member, their server and every server together spent, running jobs included."""

    member: Spent = Spent()
    server: Spent = Spent()
    host: Spent = Spent()


def local_month(day: str) -> str:
    """The month (``2026-08``) of an ISO day (``2026-08-05``)."""
    return day[:7]


def utc_day(timestamp: float) -> str:
    """The UTC calendar day of a unix time (the host's budget days)."""
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def next_month_start(timestamp: float, zone: tzinfo) -> int:
    """Unix time of midnight on the first of the next month in ``zone`` (monthly budgets reset)."""
    now = datetime.fromtimestamp(timestamp, zone)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return int(datetime(year, month, 1, tzinfo=zone).timestamp())
