"""Blocked terms match through case, accents, leetspeak, look-alikes, spacing and repeats."""

from __future__ import annotations

import time

import pytest

from bot.policy.terms import TermMatcher, normalize_term


@pytest.mark.parametrize(
    "prompt",
    [
        "a BAD dog",
        "a bäd dog",
        "a b4d dog",
        "a B@D dog",
        "a baaaad dog",
        "a b a d dog",
        "a b.a.d dog",
        "a b-a-d dog",
        "a b\u200bad dog",  # zero-width space
        "a bаd dog",  # Cyrillic а
        "bad",
    ],
)
def test_obfuscated_spellings_of_a_term_match(prompt: str) -> None:
    assert TermMatcher(["bad"]).find(prompt) == "bad"


@pytest.mark.parametrize("prompt", ["badminton at noon", "a good dog", "bead", "ba dminton"])
def test_words_that_only_contain_a_term_do_not_match(prompt: str) -> None:
    assert TermMatcher(["bad"]).find(prompt) is None


def test_a_phrase_matches_with_any_spacing_and_returns_the_admins_spelling() -> None:
    matcher = TermMatcher(["Blood Bath"])
    assert matcher.find("a bloodbath at dawn") == "Blood Bath"
    assert matcher.find("a BLOOD   bath") == "Blood Bath"
    assert matcher.find("blood on the bath") is None


def test_a_term_ending_in_a_star_matches_words_starting_with_it() -> None:
    matcher = TermMatcher(["gore*"])
    assert matcher.find("gorey scenes") == "gore*"
    assert matcher.find("g0r3fest") == "gore*"
    assert matcher.find("a gorge") is None


def test_ambiguous_leetspeak_is_read_both_ways() -> None:
    matcher = TermMatcher(["kill"])
    assert matcher.find("k1ll it") == "kill"
    assert matcher.find("ki11 it") == "kill"


def test_terms_fold_to_one_key_per_spelling() -> None:
    assert normalize_term("  Bäd  ") == normalize_term("BAD") == "bad"
    assert normalize_term("gore*") == "gore*"
    assert normalize_term("!!!") == "i"
    assert normalize_term("---") == ""


def test_an_empty_list_matches_nothing() -> None:
    assert not TermMatcher([])
    assert TermMatcher([]).find("anything") is None


def test_matching_a_long_prompt_against_many_terms_is_fast() -> None:
    matcher = TermMatcher([f"term{i}word" for i in range(300)] + ["needle"])
    prompt = " ".join(f"word{i} with some longer text" for i in range(200)) + " n e e d l e"
    started = time.perf_counter()
    assert matcher.find(prompt) == "needle"
    assert time.perf_counter() - started < 0.05
