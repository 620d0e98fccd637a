"""Text is a message id with values: it survives the database and renders per reader."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from bot.errors import InputError, PolicyRefusal
from bot.i18n import (
    Amount,
    Day,
    Duration,
    Items,
    Lang,
    StoredText,
    Text,
    _,
    _n,
    _p,
    literal,
    source_lang,
)


class Row(BaseModel):
    reason: StoredText


def test_a_text_with_nested_values_round_trips_through_json() -> None:
    text = _(
        "{who} asked for {what} {when}; wait {wait}; {sizes}",
        who="<@1>",
        what=_n("{count} image", "{count} images", 3),
        when=Day(iso="2026-05-01"),
        wait=Duration(seconds=90),
        sizes=Items(items=(Amount(value=1.5), 2, "three"), style="or"),
    )
    again = Text.model_validate_json(text.model_dump_json())
    assert again == text
    assert str(again) == (
        "<@1> asked for 3 images Fri, May 1; wait 1 minute and 30 seconds; 1.5, 2, or three"
    )


def test_a_plain_string_stored_before_texts_reads_as_it_was() -> None:
    assert Row.model_validate({"reason": "Cancelled."}).reason == literal("Cancelled.")
    assert str(Row.model_validate({"reason": "50% {odd} text"}).reason) == "50% {odd} text"


def test_markers_build_what_babel_extracts() -> None:
    assert _n("{count} file", "{count} files", 2) == Text(
        id="{count} file", plural="{count} files", count=2, values={"count": 2}
    )
    assert _p("button", "Edit") == Text(id="Edit", context="button")


def test_errors_carry_their_text_and_keep_english_for_logs() -> None:
    error = InputError(
        _("`{name}` is empty.", name="a.png"), member_hint=_("Attach another image.")
    )
    assert error.message == "`a.png` is empty."
    assert error.member_hint == "Attach another image."
    assert error.for_member() == str(error.text) == "`a.png` is empty. Attach another image."
    assert str(error) == "`a.png` is empty."
    plain = InputError("Too long.", operator_hint="Use --short.")
    assert plain.text == literal("Too long.") and plain.for_operator() == "Too long. Use --short."


def test_a_refusal_keeps_the_admins_detail_as_text() -> None:
    refusal = PolicyRefusal(_("No."), rule="blocked_term", admin_detail=_("matched {t}", t="x"))
    assert refusal.admin_detail == "matched x"
    assert refusal.admin_detail_text == _("matched {t}", t="x")


@pytest.mark.parametrize(
    ("locale", "number", "decimal", "duration"),
    [
        ("en-US", "6,000", "2.5", "1 hour and 5 minutes"),
        ("de", "6.000", "2,5", "1 Stunde, 5 Minuten"),
        ("fr", "6\u202f000", "2,5", "1\xa0heure et 5 minutes"),
        ("ru", "6\xa0000", "2,5", "1 час 5 минут"),
        ("ja", "6,000", "2.5", "1 時間 5 分"),
    ],
)
def test_values_are_written_the_readers_way(
    locale: str, number: str, decimal: str, duration: str
) -> None:
    lang = Lang.of(locale)
    assert lang.value(6000) == number
    assert lang.value(Amount(value=2.5)) == decimal
    assert lang.value(Duration(seconds=3900)) == duration


def test_short_durations_keep_their_fraction_and_zero_reads_as_zero() -> None:
    english = source_lang()
    assert english.duration(0.3) == "0.3 seconds"
    assert english.duration(1) == "1 second"
    assert english.duration(0) == "0 seconds"
    assert english.duration(2 * 86_400 + 7200 + 5) == "2 days and 2 hours"


def test_lists_and_days_follow_the_locale() -> None:
    items = Items(items=("a", "b", "c"))
    assert Lang.of("en-US").value(items) == "a, b, and c"
    assert Lang.of("de").value(items) == "a, b und c"
    assert Lang.of("zh-CN").value(Items(items=("a", "b"), style="or")) == "a或b"
    assert Lang.of("en-US").value(Items(items=("a", "b"), style="plus")) == "a + b"
    assert Lang.of("ja").value(Items(items=("16:9", "2K"), style="dots")) == "16:9 · 2K"
    assert Lang.of("de").value(Day(iso="2026-05-01")) == "Fr., 1. Mai"


def test_a_literal_is_never_looked_up_or_formatted() -> None:
    assert Lang.of("de")(literal("{not a placeholder}")) == "{not a placeholder}"
