"""What an image API charges, as data: per image by size tier and quality, and per input image.

Each profile (``profiles.toml``, or the host's ``IMAGE_PROFILES_FILE``) names its ``currency``
and a ``price`` per image made, for all its models or per model in ``model_overrides``. A price
is a number, ``"unknown"`` (nothing published: spend is then shown as unknown, never as zero),
or a table by tier, whose entries may again be a table by quality::

    price = 0.04                                      # every image, any size or quality
    price = { "1K" = 0.02, "2K" = 0.04 }              # by tier; 4K unknown
    price = { "1K" = { low = 0.01, medium = 0.04, high = 0.17, default = 0.04 } }

``default`` is the price when Easel sends no quality (the API picks its own). ``input_price``
is charged per input image (references, images to edit) where the API bills them.

Money is ``Decimal`` everywhere (TOML numbers are read through their decimal text, so 0.1 is
exactly one tenth), never float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.failures import FailureKind
from bot.options import Quality, Resolution

UNKNOWN: Literal["unknown"] = "unknown"

Amount: TypeAlias = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=18)]
# A price: an exact amount, or "unknown" where the API publishes none.
Price: TypeAlias = Amount | Literal["unknown"]
QualityKey: TypeAlias = Literal["low", "medium", "high", "default"]
ByQuality: TypeAlias = dict[QualityKey, Price]
TierPrice: TypeAlias = Price | ByQuality
# What one image costs: one price, or a table by tier (each a price or a table by quality).
PriceRule: TypeAlias = Price | dict[Resolution, TierPrice]

# Failures after which the API has most likely made (and billed) the images anyway: a cancelled
# or timed-out task keeps running upstream, and a synchronous call cut off by a restart is lost
# but billed. Failures the API reports itself (a refused prompt, a failed task) are refunded.
BilledFailure: TypeAlias = FailureKind  # "undeliverable": made but never posted (``costs.failed``)
BILLED_FAILURES_DEFAULT: tuple[BilledFailure, ...] = ("cancelled", "timeout", "interrupted")
CURRENCY_PATTERN = r"^[A-Z]{3}$"  # ISO 4217: USD, EUR, CNY


class ModelPrices(BaseModel):
    """The prices of one model of one provider, in the provider's currency."""

    model_config = ConfigDict(frozen=True)

    currency: str = Field(default="USD", pattern=CURRENCY_PATTERN)
    image: PriceRule = UNKNOWN
    input_image: Price = UNKNOWN
    billed_failures: tuple[BilledFailure, ...] = BILLED_FAILURES_DEFAULT

    @field_validator("image")
    @classmethod
    def _plain_tiers(cls, value: PriceRule) -> PriceRule:
        """A tier table must name at least one tier (an empty table reads as a typo)."""
        if isinstance(value, dict) and not value:
            raise ValueError("a price table needs at least one tier (1K, 2K or 4K)")
        return value

    def per_image(self, resolution: Resolution, quality: Quality | None) -> Price:
        """What one image at ``resolution`` and ``quality`` (None: not sent) costs."""
        rule = self.image
        if not isinstance(rule, dict):
            return rule
        tier = rule.get(resolution, UNKNOWN)
        if not isinstance(tier, dict):
            return tier
        key: QualityKey = quality.value if quality is not None else "default"
        return tier.get(key, UNKNOWN)

    @property
    def published(self) -> bool:
        """Whether any image price is known (a budget can be checked against some jobs)."""
        rule = self.image
        if not isinstance(rule, dict):
            return rule != UNKNOWN
        for tier in rule.values():
            prices = tier.values() if isinstance(tier, dict) else (tier,)
            if any(price != UNKNOWN for price in prices):
                return True
        return False

    def describe(self) -> str:
        """The image prices in one line, e.g. ``1K 0.02 · 2K 0.04 · 4K unknown (USD)``."""
        rule = self.image
        if not isinstance(rule, dict):
            text = "unknown" if rule == UNKNOWN else f"{plain(rule)} per image"
        else:
            parts = []
            for tier in Resolution:
                entry = rule.get(tier, UNKNOWN)
                if isinstance(entry, dict):
                    entry_text = ", ".join(f"{key} {plain(price)}" for key, price in entry.items())
                else:
                    entry_text = plain(entry)
                parts.append(f"{tier} {entry_text}")
            text = " · ".join(parts)
        inputs = "" if self.input_image == Decimal(0) else f"; inputs {plain(self.input_image)}"
        return f"{text}{inputs} ({self.currency})"


def plain(price: Price) -> str:
    """A price as written in the profile: ``0.04`` (no trailing zeros) or ``unknown``."""
    if price == UNKNOWN:
        return UNKNOWN
    assert isinstance(price, Decimal)
    return format(price.normalize(), "f")


def times(price: Price, count: int) -> Price:
    """``count`` times ``price`` (zero of anything is zero, even of an unknown price)."""
    if count == 0:
        return Decimal(0)
    if price == UNKNOWN:
        return UNKNOWN
    assert isinstance(price, Decimal)
    return price * count


def add(*prices: Price) -> Price:
    """The sum; unknown if any part is."""
    total = Decimal(0)
    for price in prices:
        if price == UNKNOWN:
            return UNKNOWN
        assert isinstance(price, Decimal)
        total += price
    return total
