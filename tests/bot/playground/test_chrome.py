"""The page's own words are all in the catalogs, so every one of them can be translated.

The page's scripts and HTML name each sentence in English (``t("Send")``, ``data-i18n="Send"``);
``bot/playground/chrome.py`` lists them for extraction. These fail when the page shows a sentence
the list lacks (it would stay English in every language) or the list keeps one nobody shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import TRANSLATED
from bot.playground.chrome import PAGE, page_language, page_text

STATIC = Path(__file__).resolve().parents[3] / "bot" / "playground" / "static"
# t("…") / tNodes("…") in the scripts; data-i18n="…" / data-i18n-title="…" in the HTML.
_CALL = re.compile(r"""\b(?:t|tNodes)\(\s*"((?:[^"\\]|\\.)*)\"""")
_ATTRIBUTE = re.compile(r"""\bdata-i18n(?:-[a-z-]+)?="([^"]*)\"""")


def used_on_the_page() -> set[str]:
    found: set[str] = set()
    for script in STATIC.glob("js/*.js"):
        found |= {m.replace('\\"', '"') for m in _CALL.findall(script.read_text())}
    found |= set(_ATTRIBUTE.findall((STATIC / "index.html").read_text()))
    return found


def test_every_sentence_the_page_shows_is_listed_for_translation() -> None:
    listed = {text.id for text in PAGE}
    used = used_on_the_page()
    assert used - listed == set(), "add these to bot/playground/chrome.py PAGE"
    assert listed - used == set(), "the page no longer shows these"
    assert {"Send", "Only you can see this", "Let everyone use {command}"} <= used


def test_the_scan_finds_calls_and_attributes() -> None:
    """The check above cannot pass by finding nothing."""
    assert _CALL.findall('x = t("Send"); y = tNodes("{a} b", { a })') == ["Send", "{a} b"]
    assert _ATTRIBUTE.findall('<b data-i18n="All" data-i18n-aria-label="Show">') == [
        "All",
        "Show",
    ]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_each_language_serves_the_pages_sentences_with_their_placeholders(locale: str) -> None:
    """The page fills ``{placeholders}`` itself: a served sentence keeps exactly the source's."""
    strings = page_text(locale)["strings"]
    assert strings["Send"] != "Send" and strings["Only you can see this"] != "Only you can see this"
    for text in PAGE:
        wanted = set(re.findall(r"\{(\w+)\}", text.id))
        assert set(re.findall(r"\{(\w+)\}", strings[text.id])) == wanted, (locale, text.id)


def test_the_browsers_languages_pick_the_nearest_shipped_one() -> None:
    assert page_language("de-CH,de;q=0.9,en;q=0.8") == "de"
    assert page_language("zh-TW") == "zh-TW" and page_language("zh-HK,zh;q=0.8") == "zh-TW"
    assert page_language("zh-Hant") == "zh-TW" and page_language("zh") == "zh-CN"
    assert page_language("pt-PT") == "pt-BR" and page_language("es-MX") == "es-ES"
    assert page_language("nl,fr;q=0.5") == "fr"
    assert page_language("nl") == page_language(None) == page_language("") == "en-US"
