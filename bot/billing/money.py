"""Amounts of money as members type them and read them: Decimal in, plain text out.

Never float: ``0.1 + 0.2`` must be exactly ``0.30`` on a bill.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.providers.prices import UNKNOWN, Price

MAX_AMOUNT = Decimal("1000000000")  # no budget is a billion: a typo, refused
OFF_WORDS = frozenset({"off", "none", "no", "clear", "unlimited", "-"})


def money(amount: Price, currency: str) -> str:
    """``0.04 USD``, ``1,250.00 USD``, ``0.0425 USD``; ``unknown`` for an unknown amount.

    Cents always show; smaller fractions only when the amount has them (per-image prices).
    """
    if amount == UNKNOWN:
        return "unknown"
    assert isinstance(amount, Decimal)
    cents = amount.quantize(Decimal("0.01"))
    if cents == amount:
        return f"{cents:,.2f} {currency}"
    exact = format(amount.normalize(), ",f")
    return f"{exact} {currency}"


def parse_amount(text: str, *, what: str = "amount") -> Decimal | None:
    """A non-negative amount a member typed (``25``, ``0.50``, ``$1,000``); None for "off".

    Raises ValueError with what was wrong and what to type instead.
    """
    cleaned = text.strip().lower()
    if cleaned in OFF_WORDS:
        return None
    cleaned = cleaned.replace(",", "").replace("_", "").lstrip("$€£¥").strip()
    for code in ("usd", "eur", "cny", "gbp", "jpy"):
        cleaned = cleaned.removesuffix(code).strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(
            f"the {what} must be a number like 25 or 0.50, or off (got {text.strip()[:40]!r})"
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"the {what} must be 0 or more (got {text.strip()[:40]!r})")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"the {what} must be less than {MAX_AMOUNT:,}")
    if amount != amount.quantize(Decimal("0.0001")):
        raise ValueError(f"the {what} can have at most 4 decimals (got {text.strip()[:40]!r})")
    return amount
