"""Spending reports: per day and per member, unknown costs never summed as zero, CSV and text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from bot.billing.report import CSV_HEADER, SpendReport
from bot.policy.records import JobSpend

ALICE, BOB = 1, 2


def job(day: str, user: int, images: int, cost: str | None, currency: str = "USD") -> JobSpend:
    return JobSpend(
        guild_id=7,
        day=day,
        user_id=user,
        images=images,
        cost=None if cost is None else Decimal(cost),
        currency=currency,
    )


JOBS = [
    job("2026-08-01", ALICE, 2, "0.08"),
    job("2026-08-01", BOB, 1, "0.04"),
    job("2026-08-03", ALICE, 1, None),  # price unknown
    job("2026-08-03", ALICE, 1, "0.04"),
    job("2026-07-31", BOB, 9, "9"),  # before the period
]


def report() -> SpendReport:
    return SpendReport.of(JOBS, first_day="2026-08-01", last_day="2026-08-03", currency="USD")


def test_days_and_members_add_up_and_the_period_includes_empty_days() -> None:
    r = report()
    assert [(day, t.images, t.jobs, t.cost) for day, t in r.day_series()] == [
        ("2026-08-01", 3, 2, Decimal("0.12")),
        ("2026-08-02", 0, 0, Decimal(0)),
        ("2026-08-03", 2, 2, Decimal("0.04")),
    ]
    assert [(user, t.images, t.cost) for user, t in r.top_members()] == [
        (ALICE, 4, Decimal("0.12")),
        (BOB, 1, Decimal("0.04")),
    ]
    assert (r.total.images, r.total.jobs, r.total.unknown) == (5, 4, 1)


def test_unknown_costs_are_named_never_counted_as_zero() -> None:
    r = report()
    assert r.total.cost_text("USD") == "0.16 USD + 1 job at an unknown price"
    assert r.by_day["2026-08-01"].cost_text("USD") == "0.12 USD"
    only_unknown = SpendReport.of(
        [job("2026-08-01", ALICE, 1, None)], first_day="2026-08-01", last_day="2026-08-01",
        currency="USD",
    )  # fmt: skip
    assert only_unknown.total.cost_text("USD") == "unknown" and not only_unknown.priced


def test_a_cost_in_another_currency_counts_as_unknown() -> None:
    r = SpendReport.of(
        [job("2026-08-01", ALICE, 1, "5", currency="EUR")],
        first_day="2026-08-01",
        last_day="2026-08-01",
        currency="USD",
    )
    assert r.total.unknown == 1 and r.total.cost == 0


def test_the_csv_has_one_row_per_day_and_member() -> None:
    rows = list(csv.reader(io.StringIO(report().csv())))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1:] == [
        ["2026-08-01", "7", str(ALICE), "2", "1", "0.08", "0", "USD"],
        ["2026-08-01", "7", str(BOB), "1", "1", "0.04", "0", "USD"],
        ["2026-08-03", "7", str(ALICE), "2", "2", "0.04", "1", "USD"],
    ]


def test_the_text_table_names_members_and_the_total() -> None:
    text = report().table({ALICE: "alice"})
    assert "2026-08-01         3      2  0.12 USD" in text
    assert "2026-08-02" not in text  # no jobs that day
    assert "alice" in text and str(BOB) in text
    assert text.endswith("total: 5 images in 4 jobs, 0.16 USD + 1 job at an unknown price")
