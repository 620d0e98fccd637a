"""The usage chart: spending per day (bars over the period) and per member (the top spenders),
drawn with Pillow in a worker thread so the event loop never waits on it.

``layout`` is pure geometry (every bar's box, proportional to its value), so tests can check the
drawing against it; ``render`` paints a layout; ``chart_png`` does both off the loop. Where no
price is known the chart shows images instead of money, and says so.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

from bot.billing.report import SpendReport, Tally

WIDTH = 1000
MARGIN = 40
TOP_PANEL = (MARGIN + 50, 70, WIDTH - MARGIN, 330)  # left, top, right, bottom of the day bars
BOTTOM_TOP = 420  # where the member bars start
MEMBER_ROW = 26
MEMBER_LABEL = 200  # pixels for the member names left of their bars
MAX_MEMBERS = 10
BACKGROUND = (255, 255, 255)
BAR = (88, 101, 242)  # Discord blurple
GRID = (225, 227, 232)
TEXT = (35, 39, 42)
MUTED = (116, 127, 141)

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Bar:
    """One bar: what it stands for, its value (money or images) and where it is drawn."""

    label: str
    value: Decimal
    text: str
    box: Box  # left, top, right, bottom; an empty bar has top == bottom


@dataclass(frozen=True)
class ChartLayout:
    """Everything ``render`` draws."""

    title: str
    unit: str  # "USD" or "images"
    day_bars: tuple[Bar, ...]
    member_bars: tuple[Bar, ...]
    note: str
    height: int  # the member rows take what they need


def _value(tally: Tally, priced: bool) -> Decimal:
    return tally.cost if priced else Decimal(tally.images)


def _text(tally: Tally, priced: bool, currency: str) -> str:
    return tally.cost_text(currency) if priced else str(tally.images)


def layout(report: SpendReport, names: dict[int, str] | None = None) -> ChartLayout:
    """Where every bar goes: heights (days) and lengths (members) proportional to their values."""
    names = names or {}
    priced = report.priced
    unit = report.currency if priced else "images"
    days = report.day_series()
    left, top, right, bottom = TOP_PANEL
    peak = max((_value(tally, priced) for _, tally in days), default=Decimal(0))
    slot = (right - left) / max(len(days), 1)
    gap = max(1, int(slot * 0.2))
    day_bars = []
    for index, (day, tally) in enumerate(days):
        value = _value(tally, priced)
        height = int((value / peak * (bottom - top)).to_integral_value()) if peak > 0 else 0
        x0 = left + int(index * slot) + gap // 2
        x1 = max(x0 + 1, left + int((index + 1) * slot) - (gap - gap // 2))
        day_bars.append(
            Bar(
                day, value, _text(tally, priced, report.currency), (x0, bottom - height, x1, bottom)
            )
        )
    members = report.top_members(MAX_MEMBERS)
    most = max((_value(tally, priced) for _, tally in members), default=Decimal(0))
    bar_left, bar_right = MARGIN + MEMBER_LABEL, WIDTH - MARGIN - 110
    member_bars = []
    for row, (user_id, tally) in enumerate(members):
        value = _value(tally, priced)
        length = int((value / most * (bar_right - bar_left)).to_integral_value()) if most > 0 else 0
        y0 = BOTTOM_TOP + row * MEMBER_ROW
        label = names.get(user_id, str(user_id))
        member_bars.append(
            Bar(
                label,
                value,
                _text(tally, priced, report.currency),
                (bar_left, y0, bar_left + length, y0 + MEMBER_ROW - 8),
            )
        )
    what = f"Spending ({report.currency})" if priced else "Images (prices unknown)"
    unknown = report.total.unknown
    note = (
        ""
        if report.total.known or not priced
        else f"{unknown} job(s) at an unknown price are not in the money bars"
    )
    return ChartLayout(
        title=f"{what} · {report.first_day} to {report.last_day}",
        unit=unit,
        day_bars=tuple(day_bars),
        member_bars=tuple(member_bars),
        note=note,
        height=BOTTOM_TOP + max(len(member_bars), 1) * MEMBER_ROW + 50,
    )


def render(chart: ChartLayout) -> bytes:
    """Paint ``chart`` as a PNG (Pillow: call it in a thread)."""
    image = Image.new("RGB", (WIDTH, chart.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title, body, small = (ImageFont.load_default(size=s) for s in (22, 15, 12))
    draw.text((MARGIN, 20), chart.title, font=title, fill=TEXT)
    left, top, right, bottom = TOP_PANEL
    for step in range(5):  # grid lines under the bars
        y = bottom - (bottom - top) * step // 4
        draw.line((left, y, right, y), fill=GRID)
    draw.text((MARGIN, top - 22), f"per day ({chart.unit})", font=body, fill=MUTED)
    peak = max(chart.day_bars, key=lambda bar: bar.value, default=None)
    if peak is not None and peak.value > 0:
        draw.text((MARGIN - 30, top - 6), peak.text, font=small, fill=MUTED)
    for bar in chart.day_bars:
        if bar.box[1] < bar.box[3]:
            draw.rectangle((bar.box[0], bar.box[1], bar.box[2] - 1, bar.box[3] - 1), fill=BAR)
    every = max(1, len(chart.day_bars) // 10)  # at most about ten dates under the axis
    for index, bar in enumerate(chart.day_bars):
        if index % every == 0:
            draw.text((bar.box[0], bottom + 6), bar.label[5:], font=small, fill=MUTED)
    draw.text((MARGIN, BOTTOM_TOP - 34), f"per member ({chart.unit})", font=body, fill=MUTED)
    if not chart.member_bars:
        draw.text((MARGIN, BOTTOM_TOP), "Nothing made in this period.", font=body, fill=TEXT)
    for bar in chart.member_bars:
        x0, y0, x1, y1 = bar.box
        draw.text((MARGIN, y0 + 2), bar.label[:24], font=body, fill=TEXT)
        if x1 > x0:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=BAR)
        draw.text((x1 + 8, y0 + 2), bar.text, font=body, fill=TEXT)
    if chart.note:
        draw.text((MARGIN, chart.height - 28), chart.note, font=small, fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


async def chart_png(report: SpendReport, names: dict[int, str] | None = None) -> bytes:
    """The report's chart as PNG bytes, drawn in a worker thread."""
    return await asyncio.to_thread(render, layout(report, names))
