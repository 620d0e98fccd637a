"""The usage chart: a PNG whose bars are as tall (and as long) as their values."""

from __future__ import annotations

import io
from decimal import Decimal

from PIL import Image

from bot.billing.chart import BAR, WIDTH, chart_png, layout, render
from bot.billing.report import SpendReport
from bot.policy.records import JobSpend


def job(day: str, user: int, images: int, cost: str | None) -> JobSpend:
    amount = None if cost is None else Decimal(cost)
    return JobSpend(guild_id=1, day=day, user_id=user, images=images, cost=amount, currency="USD")


SPENT = {"2026-08-01": "0.10", "2026-08-02": "0.40", "2026-08-04": "0.20"}
REPORT = SpendReport.of(
    [job(day, 10 + i, 1, cost) for i, (day, cost) in enumerate(SPENT.items())],
    first_day="2026-08-01",
    last_day="2026-08-05",
    currency="USD",
)


def column_height(image: Image.Image, x: int, top: int, bottom: int) -> int:
    """How many pixels of bar colour a column has between ``top`` and ``bottom``."""
    return sum(1 for y in range(top, bottom) if image.getpixel((x, y)) == BAR)


def row_length(image: Image.Image, y: int, left: int, right: int) -> int:
    return sum(1 for x in range(left, right) if image.getpixel((x, y)) == BAR)


async def test_the_chart_is_a_png_with_a_bar_per_day_as_tall_as_its_spend() -> None:
    png = await chart_png(REPORT, {10: "alice"})
    image = Image.open(io.BytesIO(png)).convert("RGB")
    chart = layout(REPORT, {10: "alice"})
    assert png.startswith(b"\x89PNG") and image.size == (WIDTH, chart.height)
    assert [bar.label for bar in chart.day_bars] == [
        "2026-08-01", "2026-08-02", "2026-08-03", "2026-08-04", "2026-08-05"
    ]  # fmt: skip
    top = min(bar.box[1] for bar in chart.day_bars)
    bottom = chart.day_bars[0].box[3]
    heights = [
        column_height(image, (bar.box[0] + bar.box[2]) // 2, top - 5, bottom + 1)
        for bar in chart.day_bars
    ]
    tallest = max(heights)
    assert tallest == bottom - top > 100
    for bar, height in zip(chart.day_bars, heights, strict=True):
        assert abs(height - float(bar.value / Decimal("0.40")) * tallest) <= 1, (bar, height)
    assert heights[2] == heights[4] == 0  # days without spend have no bar


async def test_member_bars_are_as_long_as_each_members_spend() -> None:
    chart = layout(REPORT, {10: "alice"})
    image = Image.open(io.BytesIO(render(chart))).convert("RGB")
    lengths = [
        row_length(image, (bar.box[1] + bar.box[3]) // 2, 0, WIDTH) for bar in chart.member_bars
    ]
    assert [bar.text for bar in chart.member_bars] == ["0.40 USD", "0.20 USD", "0.10 USD"]
    assert chart.member_bars[2].label == "alice"
    assert lengths[0] > 300
    assert abs(lengths[1] - lengths[0] / 2) <= 1 and abs(lengths[2] - lengths[0] / 4) <= 1


def test_without_any_known_price_the_chart_counts_images_and_says_so() -> None:
    unpriced = SpendReport.of(
        [job("2026-08-01", 1, 3, None), job("2026-08-02", 1, 1, None)],
        first_day="2026-08-01",
        last_day="2026-08-02",
        currency="USD",
    )
    chart = layout(unpriced)
    assert chart.unit == "images" and "prices unknown" in chart.title
    first, second = chart.day_bars
    assert abs((first.box[3] - first.box[1]) - 3 * (second.box[3] - second.box[1])) <= 3
    assert render(chart).startswith(b"\x89PNG")


def test_an_empty_period_still_renders() -> None:
    empty = SpendReport.of([], first_day="2026-08-01", last_day="2026-08-01", currency="USD")
    chart = layout(empty)
    assert chart.member_bars == () and all(bar.box[1] == bar.box[3] for bar in chart.day_bars)
    assert render(chart).startswith(b"\x89PNG")
