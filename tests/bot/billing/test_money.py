"""Amounts as members type and read them: Decimal in, plain text out, never float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.billing.money import money, parse_amount
from bot.providers.prices import UNKNOWN


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.04"), "0.04 USD"),
        (Decimal("0.1"), "0.10 USD"),
        (Decimal("1250"), "1,250.00 USD"),
        (Decimal("0.0425"), "0.0425 USD"),
        (Decimal("0.1") + Decimal("0.2"), "0.30 USD"),
    ],
)
def test_amounts_show_cents_and_finer_fractions_only_when_they_have_them(
    amount: Decimal, text: str
) -> None:
    assert money(amount, "USD") == text


def test_an_unknown_amount_reads_unknown_never_zero() -> None:
    assert money(UNKNOWN, "USD") == "unknown"


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("25", Decimal(25)), ("0.50", Decimal("0.50")), ("$1,000", Decimal(1000)),
     ("12.5 usd", Decimal("12.5")), (" 0 ", Decimal(0)),
     # decimal commas (most of Europe) and other thousands separators
     ("0,50", Decimal("0.50")), ("12,5 €", Decimal("12.5")), ("1.000,50", Decimal("1000.50")),
     ("1,000.50", Decimal("1000.50")), ("1 000", Decimal(1000)), ("1,000,000", Decimal(1000000))],
)  # fmt: skip
def test_typed_amounts_are_exact(typed: str, amount: Decimal) -> None:
    assert parse_amount(typed) == amount


@pytest.mark.parametrize("typed", ["off", "None", " unlimited "])
def test_off_means_no_limit(typed: str) -> None:
    assert parse_amount(typed) is None


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("ten", "must be a number like 25 or 0.50"),
        ("-1", "must be 0 or more"),
        ("NaN", "must be 0 or more"),
        ("0.00001", "at most 4 decimals"),
        ("1e12", "less than 1,000,000,000"),
    ],
)
def test_a_bad_amount_says_what_to_type(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_amount(typed, what="monthly budget")
