"""Translations: member-facing text as message ids with values, rendered per reader (no Discord).

Mark text with ``_`` / ``_n`` / ``_p`` (``bot.i18n.text``) wherever it is written, and render it
where the reader is known with ``Lang.of(locale)(text)``. The catalogs are the ``.po`` files
under ``bot/locales``; ``python3 dev.py i18n`` extracts new text into them.
"""

from bot.i18n.catalogs import (
    LOCALES,
    SOURCE,
    TRANSLATED,
    best_match,
    language_name,
    negotiate,
    preload,
)
from bot.i18n.lang import Lang, source_lang
from bot.i18n.text import (
    Amount,
    Day,
    Duration,
    Items,
    StoredText,
    Text,
    Value,
    _,
    _n,
    _p,
    literal,
)

__all__ = [
    "LOCALES",
    "SOURCE",
    "TRANSLATED",
    "Amount",
    "Day",
    "Duration",
    "Items",
    "Lang",
    "StoredText",
    "Text",
    "Value",
    "_",
    "_n",
    "_p",
    "best_match",
    "language_name",
    "literal",
    "negotiate",
    "preload",
    "source_lang",
]
