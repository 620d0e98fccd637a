"""Errors read right where they are read: one plain core, advice for the member or the operator."""

from __future__ import annotations

import pytest

from bot.errors import EaselError, InputError, TransientUpstreamError, in_words


def test_each_audience_gets_the_core_and_its_own_advice() -> None:
    error = InputError(
        "The model gpt-image-2 does not take a quality setting.",
        member_hint="Leave `quality` out.",
        operator_hint="Leave --quality out.",
    )
    assert error.for_member() == (
        "The model gpt-image-2 does not take a quality setting. Leave `quality` out."
    )
    assert error.for_operator() == (
        "The model gpt-image-2 does not take a quality setting. Leave --quality out."
    )
    assert error.render("operator") == error.for_operator()
    assert error.user_message == error.for_member()  # what the cogs show


def test_an_error_without_advice_reads_the_same_for_both() -> None:
    error = EaselError("The prompt is empty.")
    assert error.for_member() == error.for_operator() == str(error) == "The prompt is empty."


def test_the_log_line_of_an_upstream_error_is_the_core_with_status_and_code() -> None:
    error = TransientUpstreamError(
        "Starrise had a server error (HTTP 502).",
        provider="starrise",
        status=502,
        code="server_error",
        member_hint="An admin needs to look.",
    )
    assert str(error) == "Starrise had a server error (HTTP 502). | HTTP 502 | server_error"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (5, "5 seconds"),
        (1, "1 second"),
        (0.3, "0.3 seconds"),
        (60, "1 minute"),
        (90, "1 minute and 30 seconds"),
        (120, "2 minutes"),
        (900, "15 minutes"),
        (5400, "1 hour and 30 minutes"),
    ],
)
def test_durations_are_said_in_words(seconds: float, words: str) -> None:
    assert in_words(seconds) == words
