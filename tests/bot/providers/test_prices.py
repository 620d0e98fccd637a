"""Price tables are data: one price, by tier, by tier and quality; unknown is never zero."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.errors import ConfigError
from bot.options import Quality, Resolution
from bot.providers.families import model_spec
from bot.providers.prices import UNKNOWN, ModelPrices, add, plain, times
from bot.providers.profiles import load_profiles, shipped_profiles

R1K, R2K, R4K = Resolution.R1K, Resolution.R2K, Resolution.R4K


def prices(image: object, **changes: object) -> ModelPrices:
    return ModelPrices.model_validate({"image": image, **changes})


def test_one_price_applies_to_every_tier_and_quality() -> None:
    table = prices(0.04)
    assert table.per_image(R1K, None) == Decimal("0.04")
    assert table.per_image(R4K, Quality.HIGH) == Decimal("0.04")


def test_toml_numbers_become_exact_decimals() -> None:
    assert prices(0.1).per_image(R1K, None) * 3 == Decimal("0.3")


def test_a_tier_table_leaves_unlisted_tiers_unknown() -> None:
    table = prices({"1K": "0.02", "2K": 0.04})
    assert table.per_image(R2K, Quality.LOW) == Decimal("0.04")
    assert table.per_image(R4K, None) == UNKNOWN


def test_quality_tables_price_each_quality_and_default_is_the_unsent_one() -> None:
    table = prices({"2K": {"low": 0.01, "medium": 0.04, "high": 0.17, "default": 0.05}})
    assert table.per_image(R2K, Quality.HIGH) == Decimal("0.17")
    assert table.per_image(R2K, None) == Decimal("0.05")
    assert prices({"2K": {"low": 0.01}}).per_image(R2K, Quality.MEDIUM) == UNKNOWN


@pytest.mark.parametrize(
    "bad",
    [-0.01, "free", {"8K": 0.1}, {}, {"1K": {"ultra": 0.1}}, "NaN", "Infinity"],
)
def test_a_price_that_is_not_money_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        prices(bad)


def test_a_currency_must_be_an_iso_code() -> None:
    with pytest.raises(ValidationError):
        prices(0.04, currency="dollars")


def test_published_says_whether_any_image_price_is_known() -> None:
    assert not prices(UNKNOWN).published
    assert not prices({"1K": UNKNOWN, "2K": {"low": UNKNOWN}}).published
    assert prices({"2K": {"low": UNKNOWN, "high": 0.2}}).published


def test_arithmetic_keeps_unknown_unknown_but_zero_images_cost_nothing() -> None:
    assert times(UNKNOWN, 0) == Decimal(0)
    assert times(UNKNOWN, 2) == UNKNOWN
    assert times(Decimal("0.04"), 3) == Decimal("0.12")
    assert add(Decimal("0.1"), Decimal("0.2")) == Decimal("0.3")
    assert add(Decimal("0.1"), UNKNOWN) == UNKNOWN
    assert plain(Decimal("0.0400")) == "0.04" and plain(Decimal("10")) == "10"


def test_describe_names_every_tier_and_the_currency() -> None:
    text = prices({"1K": 0.02, "2K": {"low": 0.01, "high": 0.17}}, currency="EUR").describe()
    assert text == "1K 0.02 · 2K low 0.01, high 0.17 · 4K unknown; inputs unknown (EUR)"
    assert prices(0.04, input_image=0).describe() == "0.04 per image (USD)"


def test_shipped_profiles_publish_no_price_so_every_one_says_unknown() -> None:
    for profile in shipped_profiles().values():
        spec = model_spec(profile)
        assert spec.prices.per_image(R1K, None) == UNKNOWN, profile.name
        assert spec.prices.currency == "USD"


def test_a_hosts_file_prices_a_profile_and_one_model_differently(tmp_path: Path) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text(
        '[toapis]\ncurrency = "EUR"\nprice = 0.04\ninput_price = 0\n'
        '[toapis.model_overrides."gpt-image-2-official"]\n'
        'price = { "2K" = { low = 0.02, high = 0.2 } }\ninput_price = 0.01\n'
    )
    profile = load_profiles(extra)["toapis"]
    spec = model_spec(profile, "gpt-image-2", "gpt-image-2-official")
    assert spec.prices.per_image(R2K, None) == Decimal("0.04")
    assert spec.prices.currency == "EUR" and spec.prices.input_image == Decimal(0)
    edit = spec.for_edit().prices
    assert edit.per_image(R2K, Quality.HIGH) == Decimal("0.2")
    assert edit.input_image == Decimal("0.01") and edit.currency == "EUR"


def test_a_bad_price_in_the_hosts_file_names_the_profile_and_field(tmp_path: Path) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text('[openai]\nprice = "cheap"\n')
    with pytest.raises(ConfigError, match=r"IMAGE_PROFILES_FILE.*openai: price"):
        load_profiles(extra)
