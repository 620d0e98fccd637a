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


class AmountError(ValueError):
    """An amount Easel can't take: ``kind`` is what is wrong ("number", "negative", "too big",
    "decimals"), ``typed`` what the member typed; the message is the English sentence."""

    def __init__(self, message: str, *, kind: str, typed: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.typed = typed


def parse_amount(text: str, *, what: str = "amount") -> Decimal | None:
    """A non-negative amount a member typed (``25``, ``0.50``, ``$1,000``, ``0,50``, ``1.000,50``,
    ``1 000``); None for "off".

    A decimal comma is read as one (most of Europe writes ``0,50``); a comma before exactly three
    digits is a thousands separator, as in ``1,000``. Raises ``AmountError`` (a ValueError) with
    what was wrong and what to type instead.
    """
    typed = text.strip()[:40]
    cleaned = text.strip().lower()
    if cleaned in OFF_WORDS:
        return None
    cleaned = cleaned.replace("_", "").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    cleaned = cleaned.replace("'", "").strip("$€£¥").strip()
    for code in ("usd", "eur", "cny", "gbp", "jpy"):
        cleaned = cleaned.removesuffix(code).strip()
    cleaned = _decimal_point(cleaned)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(
            f"the {what} must be a number like 25 or 0.50, or off (got {typed!r})",
            kind="number",
            typed=typed,
        ) from None
    if not amount.is_finite() or amount < 0:
        raise AmountError(
            f"the {what} must be 0 or more (got {typed!r})", kind="negative", typed=typed
        )
    if amount >= MAX_AMOUNT:
        raise AmountError(
            f"the {what} must be less than {MAX_AMOUNT:,}", kind="too big", typed=typed
        )
    if amount != amount.quantize(Decimal("0.0001")):
        raise AmountError(
            f"the {what} can have at most 4 decimals (got {typed!r})", kind="decimals", typed=typed
        )
    return amount


def _decimal_point(cleaned: str) -> str:
    """``cleaned`` with its thousands separators dropped and a decimal comma made a point."""
    if "," in cleaned and "." in cleaned:
        # Both: the last one marks the decimals (1,000.50 or 1.000,50).
        if cleaned.rindex(",") > cleaned.rindex("."):
            return cleaned.replace(".", "").replace(",", ".")
        return cleaned.replace(",", "")
    if cleaned.count(",") == 1 and len(cleaned.rpartition(",")[2]) != 3:
        return cleaned.replace(",", ".")  # 0,50 or 12,5: a decimal comma
    return cleaned.replace(",", "")  # 1,000 or 1,000,000
