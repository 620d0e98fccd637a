"""Spending reports: images, jobs and money per day and per member for a period, as tables, CSV
and the numbers the chart draws (``bot.billing.chart``).

Built from the store's per-job rows (``SpendStore.job_spend``). A job whose price is unknown
(the API publishes none, or it ran before prices were recorded) is counted as unknown, never as
zero: a total with such jobs says how many it leaves out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from bot.billing.money import money
from bot.policy.records import JobSpend

CSV_HEADER = (
    "day", "server_id", "member_id", "images", "jobs", "cost", "unknown_cost_jobs", "currency"
)  # fmt: skip


@dataclass
class Tally:
    """Images, jobs and known cost of some jobs, and how many of them have an unknown cost."""

    images: int = 0
    jobs: int = 0
    cost: Decimal = Decimal(0)
    unknown: int = 0

    def add(self, job: JobSpend, currency: str) -> None:
        """Count one job (its cost only if known, in ``currency``)."""
        self.images += job.images
        self.jobs += 1
        if job.cost is None or (job.currency is not None and job.currency != currency):
            self.unknown += 1
        else:
            self.cost += job.cost

    @property
    def known(self) -> bool:
        """Whether every job's cost is known."""
        return self.unknown == 0

    def cost_text(self, currency: str) -> str:
        """``0.48 USD``; ``unknown``; or ``0.48 USD + 2 jobs at an unknown price``."""
        if self.known:
            return money(self.cost, currency)
        if self.cost == 0:
            return "unknown"
        jobs = f"{self.unknown} job{'s' if self.unknown != 1 else ''}"
        return f"{money(self.cost, currency)} + {jobs} at an unknown price"


@dataclass
class SpendReport:
    """A period's jobs by (server, day, member), with the day and member totals."""

    first_day: str
    last_day: str
    currency: str
    cells: dict[tuple[int, str, int], Tally] = field(default_factory=dict)
    by_day: dict[str, Tally] = field(default_factory=dict)
    by_member: dict[int, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)

    @classmethod
    def of(
        cls, jobs: Iterable[JobSpend], *, first_day: str, last_day: str, currency: str
    ) -> SpendReport:
        """Tally ``jobs`` (those outside the period are ignored)."""
        report = cls(first_day, last_day, currency)
        for job in jobs:
            if not first_day <= job.day <= last_day:
                continue
            for tally in (
                report.cells.setdefault((job.guild_id, job.day, job.user_id), Tally()),
                report.by_day.setdefault(job.day, Tally()),
                report.by_member.setdefault(job.user_id, Tally()),
                report.total,
            ):
                tally.add(job, currency)
        return report

    def days(self) -> list[str]:
        """Every day of the period, oldest first (days without jobs too: a chart shows gaps)."""
        first, last = date.fromisoformat(self.first_day), date.fromisoformat(self.last_day)
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    def day_series(self) -> list[tuple[str, Tally]]:
        """(day, tally) for every day of the period."""
        return [(day, self.by_day.get(day, Tally())) for day in self.days()]

    def top_members(self, limit: int = 10) -> list[tuple[int, Tally]]:
        """The members who spent the most (or, at unknown prices, made the most images)."""
        ranked = sorted(
            self.by_member.items(), key=lambda item: (-item[1].cost, -item[1].images, item[0])
        )
        return ranked[:limit]

    @property
    def priced(self) -> bool:
        """Whether any job has a known cost (else charts show images instead of money)."""
        return self.total.jobs > self.total.unknown

    def csv(self) -> str:
        """One row per server, day and member: images, jobs, known cost, unknown-cost jobs."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for (guild_id, day, user_id), tally in sorted(self.cells.items()):
            cost = "" if tally.jobs == tally.unknown else format(tally.cost, "f")
            writer.writerow(
                (
                    day,
                    guild_id,
                    user_id,
                    tally.images,
                    tally.jobs,
                    cost,
                    tally.unknown,
                    self.currency,
                )
            )
        return out.getvalue()

    def table(self, names: dict[int, str] | None = None) -> str:
        """A plain-text report for a terminal: by day, by member, total."""
        names = names or {}
        lines = [f"Easel usage {self.first_day} to {self.last_day} ({self.currency})", ""]
        lines.append(f"{'day':<12}{'images':>8}{'jobs':>7}  cost")
        for day, tally in self.day_series():
            if tally.jobs:
                lines.append(
                    f"{day:<12}{tally.images:>8}{tally.jobs:>7}  {tally.cost_text(self.currency)}"
                )
        lines += ["", f"{'member':<22}{'images':>8}{'jobs':>7}  cost"]
        for user_id, tally in self.top_members(limit=len(self.by_member)):
            who = names.get(user_id, str(user_id))[:21]
            lines.append(
                f"{who:<22}{tally.images:>8}{tally.jobs:>7}  {tally.cost_text(self.currency)}"
            )
        total = self.total
        lines += [
            "",
            f"total: {total.images} images in {total.jobs} jobs, {total.cost_text(self.currency)}",
        ]
        return "\n".join(lines)
