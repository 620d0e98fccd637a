"""Free WxH sizes: the rules of the OpenAI-compatible APIs and snapping onto them."""

from __future__ import annotations

import itertools

import pytest

from bot.options import Ratio, Resolution
from bot.providers.catalog import EXTENDED_SIZES, free_size_table
from bot.providers.sizes import FreeSizeRules, format_size, parse_size

RULES = FreeSizeRules()


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        ((1024, 1024), None),
        ((3840, 2160), None),
        ((1000, 1000), "multiples of 16"),
        ((4096, 1024), "long side"),
        ((3072, 1024), None),  # exactly 3:1
        ((3072, 768), "aspect ratio"),
        ((3456, 1024), "aspect ratio"),
        ((640, 640), "area"),
        ((2880, 2896), "area"),
    ],
)
def test_rules_name_the_broken_one(size: tuple[int, int], problem: str | None) -> None:
    found = RULES.problem(*size)
    assert (found is None) == (problem is None)
    if problem is not None:
        assert found is not None and problem in found


def test_every_ratio_at_every_tier_fits_and_keeps_the_extended_table() -> None:
    table = free_size_table(RULES)
    for tier, ratio in itertools.product(Resolution, Ratio):
        if ratio is Ratio.AUTO:
            continue
        size = table[tier][ratio]
        assert RULES.allows(*size), (tier, ratio, size)
        assert size == EXTENDED_SIZES[tier][ratio]  # already valid, so untouched


@pytest.mark.parametrize(
    "wanted", [(1000, 1000), (5000, 100), (100, 5000), (8000, 8000), (10, 10), (1920, 1081)]
)
def test_snap_always_lands_on_a_valid_size_near_the_shape(wanted: tuple[int, int]) -> None:
    width, height = RULES.snap(*wanted)
    assert RULES.allows(width, height)
    wanted_aspect = min(max(wanted[0] / wanted[1], 1 / 3), 3)
    assert abs(width / height - wanted_aspect) / wanted_aspect < 0.05


def test_a_stricter_profile_gets_the_nearest_size_its_rules_allow() -> None:
    strict = FreeSizeRules(multiple=64, max_side=2048, max_pixels=2048 * 2048)
    table = free_size_table(strict)
    assert table[Resolution.R4K][Ratio.SQUARE] == (2048, 2048)
    assert all(strict.allows(*size) for sizes in table.values() for size in sizes.values())


def test_for_shape_follows_the_input_at_the_tiers_area() -> None:
    width, height = RULES.for_shape((3000, 2000), Resolution.R1K)
    assert RULES.allows(width, height)
    assert abs(width / height - 1.5) < 0.03
    assert 0.9 < width * height / (1024 * 1024) < 1.1
    assert RULES.for_shape(None, Resolution.R2K) == (2048, 2048)


def test_impossible_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="min_pixels"):
        FreeSizeRules(min_pixels=10, max_pixels=5)


def test_sizes_parse_and_format_the_way_the_apis_write_them() -> None:
    assert parse_size("1536x1024") == (1536, 1024)
    assert parse_size("auto") is None and parse_size("12xab") is None
    assert format_size((864, 1536)) == "864x1536"


def test_a_ratio_wider_than_the_rules_allow_is_not_offered() -> None:
    narrow = free_size_table(FreeSizeRules(max_aspect=2.0))
    assert Ratio.ULTRAWIDE_21_9 not in narrow[Resolution.R2K]
    assert narrow[Resolution.R2K][Ratio.WIDE_2_1] == (2688, 1344)
