"""Member text is checked, stored and shown as it reads on screen, with nothing invisible in it."""

from __future__ import annotations

import pytest

from bot.text import is_blank, visible_text


@pytest.mark.parametrize(
    ("typed", "reads"),
    [
        ("\u202edrowdab\u202c", "badword"),  # right-to-left override
        ("a \u202edrowdab\u202c dog", "a badword dog"),
        ("a \u202edrowdab", "a badword"),  # an unclosed override ends with the paragraph
        ("\u202edrowdab\nnext", "badword\nnext"),
        ("\u2067\u202edrowdab\u202c\u2069", "badword"),  # inside an isolate
        ("\u202e)god(\u202c", ")dog("),  # brackets show mirrored
        ("\u202e\u202dab\u202c cd\u202c", "dc ab"),  # a nested left-to-right override
        ("\u202ddrowdab\u202c", "drowdab"),  # a left-to-right override changes nothing here
        ("\u202bword bad\u202c", "word bad"),  # an embedding keeps a Latin run's order
        ("\u200fword\u200f bad\u200e", "word bad"),  # marks
    ],
)
def test_direction_controls_are_resolved_into_reading_order(typed: str, reads: str) -> None:
    assert visible_text(typed) == reads


def test_right_to_left_letters_under_an_override_keep_their_order() -> None:
    hebrew = "\u05e9\u05dc\u05d5\u05dd"  # shalom, typed in its own (right-to-left) order
    assert visible_text(f"\u202e{hebrew} cba\u202c") == f"abc {hebrew}"
    assert visible_text(f"a {hebrew} b") == f"a {hebrew} b"  # and untouched without one


@pytest.mark.parametrize(
    ("typed", "reads"),
    [
        ("b\u200bad", "bad"),
        ("b\u200dad", "bad"),  # a joiner between Latin letters joins nothing
        ("bad\u2060word\ufeff", "badword"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bad\U000e0041\U000e0042word", "badword"),  # tag characters smuggle hidden text
        ("x\x00y\x07z", "xyz"),
        ("tab\tand\nnew line", "tab\tand\nnew line"),
        ("a\x0bb", "a b"),
        ("a\u3164b\u2800c", "a b c"),  # Hangul filler and blank braille look like spaces
        ("❤\ufe0f\ufe0f\ufe0f", "❤\ufe0f"),  # one variation selector after a character
        ("\ufe0fa", "a"),
        ("👩\u200d💻", "👩\u200d💻"),  # emoji sequences keep their joiner
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        ),  # Persian
        ("café 東京", "café 東京"),
    ],
)
def test_invisible_characters_are_removed_and_visible_ones_kept(typed: str, reads: str) -> None:
    assert visible_text(typed) == reads


@pytest.mark.parametrize(
    "text",
    ["\u202edrowdab\u202c", "ж\u200b\u200dж", "ж\u200d\u3164", "a \u202e(x\u2067y\u202cz"],
)
def test_cleaning_twice_changes_nothing_more(text: str) -> None:
    once = visible_text(text)
    assert visible_text(once) == once


@pytest.mark.parametrize(
    "text", ["", "   ", "\u200b\u200c\u200d\u2060\ufeff", "\u3164", "\u0301\u0301", "\u202e \u202c"]
)
def test_text_that_shows_nothing_is_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", " . ", "🦊", "\u200bx"])
def test_text_that_shows_something_is_not_blank(text: str) -> None:
    assert not is_blank(text)


@pytest.mark.parametrize(
    ("typed", "reads"),
    [
        ("a lighthouse at dusk, oil on canvas", "a lighthouse at dusk, oil on canvas"),
        ("line one\n\ttwo\r\n", "line one\n\ttwo\r\n"),  # tab and newlines are kept
        ("a\x00b\x07c\x7fd", "abcd"),  # other ASCII controls still go
        ("a\x0bb\x0cc", "a b c"),  # whitespace controls read as spaces
    ],
)
def test_plain_ascii_reads_as_typed_and_other_controls_still_go(typed: str, reads: str) -> None:
    assert visible_text(typed) == reads


@pytest.mark.parametrize(
    ("text", "blank"), [(" \t\r\n", True), ("\x00 \x7f", True), (" x ", False)]
)
def test_ascii_text_is_blank_only_when_it_shows_nothing(text: str, blank: bool) -> None:
    assert is_blank(text) is blank
