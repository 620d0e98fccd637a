"""The shipped languages and their gettext catalogs, read from the ``.po`` files themselves.

Each language is one file, ``bot/locales/<dir>/LC_MESSAGES/easel.po`` (``<dir>`` is the Discord
locale with ``_`` for ``-``: ``zh_CN``, ``pt_BR``, ``de``), and one line in ``TRANSLATED``. No
compiled ``.mo`` is committed or installed: Babel reads the ``.po`` and compiles it in memory the
first time a language is used (``preload`` does all of them at start, off the event loop). A
fuzzy or empty entry is left out, so the reader gets the English sentence, never a wrong one.
"""

from __future__ import annotations

import gettext
import io
import logging
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

DOMAIN = "easel"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"

SOURCE = "en-US"  # the language the code is written in: its catalog is the code itself
#: Every translated language, as Discord names it. A new language is its .po file and one line.
TRANSLATED: tuple[str, ...] = (
    "zh-CN",
    "zh-TW",
    "ja",
    "ko",
    "es-ES",
    "pt-BR",
    "fr",
    "de",
    "ru",
)
LOCALES: tuple[str, ...] = (SOURCE, *TRANSLATED)

_lock = threading.Lock()
_loaded: dict[str, gettext.NullTranslations] = {}


def catalog_dir(locale: str) -> str:
    """The gettext folder name of a shipped locale (``zh-CN`` → ``zh_CN``)."""
    return locale.replace("-", "_")


def catalog_path(locale: str) -> Path:
    """Where a shipped locale's ``.po`` file is."""
    return LOCALE_DIR / catalog_dir(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def babel_locale(locale: str) -> Locale:
    """Babel's locale (numbers, dates, lists, plural rules) for a shipped locale."""
    return Locale.parse(locale, sep="-")


@lru_cache(maxsize=256)
def negotiate(requested: str | None) -> str:
    """The shipped locale for a locale a reader asked for (Discord's ``interaction.locale``).

    An exact match wins, then the same language (``es-419`` reads ``es-ES``, ``en-GB`` reads
    English); anything else reads the source language.
    """
    return _closest(requested) or SOURCE


def best_match(wanted: Iterable[str]) -> str:
    """The shipped locale for the first of ``wanted`` Easel speaks (a browser's languages, in
    its order of preference: ``de-AT``, ``ja``, ``en``); the source language if none."""
    for requested in wanted:
        found = _closest(requested.split(";")[0].strip())
        if found is not None:
            return found
    return SOURCE


def _closest(requested: str | None) -> str | None:
    if not requested:
        return None
    wanted = requested.replace("_", "-")
    for locale in LOCALES:
        if locale.lower() == wanted.lower():
            return locale
    for prefix, locale in _TRADITIONAL:
        if wanted.lower().startswith(prefix):
            return locale
    language = wanted.split("-")[0].lower()
    for locale in LOCALES:
        if locale.split("-")[0].lower() == language:
            return locale
    return None


#: Chinese written in traditional characters (Hong Kong, Macau, or said outright) reads zh-TW.
_TRADITIONAL = (("zh-hant", "zh-TW"), ("zh-hk", "zh-TW"), ("zh-mo", "zh-TW"))


def language_name(code: str, reader: str) -> str:
    """A shipped language as its speakers write it and, after it, as ``reader`` calls it."""
    found = babel_locale(code)
    shared = sum(other.split("-")[0] == code.split("-")[0] for other in LOCALES) > 1
    # Chinese comes in two scripts: say which; one Spanish needs no country.
    named = Locale(found.language, script=found.script if shared else None)
    own = named.get_display_name(named) or code
    own = own[:1].upper() + own[1:]
    theirs = named.get_display_name(babel_locale(reader)) or code
    return own if negotiate(reader) == code else f"{own} · {theirs}"


def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of a shipped locale (the source language translates to itself)."""
    found = _loaded.get(locale)
    if found is not None:
        return found
    with _lock:
        found = _loaded.get(locale)
        if found is None:
            found = _compile(locale)
            _loaded[locale] = found
    return found


def preload() -> None:
    """Compile every shipped catalog now (blocking: call it in a thread at start)."""
    for locale in LOCALES:
        translations(locale)


def _compile(locale: str) -> gettext.NullTranslations:
    if locale == SOURCE:
        return gettext.NullTranslations()
    if locale not in TRANSLATED:
        raise ValueError(f"{locale!r} is not a shipped language; shipped: {', '.join(LOCALES)}")
    path = catalog_path(locale)
    try:
        with path.open("rb") as po:
            catalog = read_po(po, locale=catalog_dir(locale), domain=DOMAIN)
    except FileNotFoundError:  # a language just added: `python3 dev.py i18n` creates its file
        log.warning("no catalog for %s at %s: its readers get English", locale, path)
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    log.debug("compiled %s (%d messages)", path, len(catalog))
    return Translations(buffer, domain=DOMAIN)
