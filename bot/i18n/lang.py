"""One reader's language: ``Text`` rendered through its catalog, values written its way (Babel).

``Lang.of("de")`` (or any locale Discord sends, negotiated to a shipped one) is cheap and cached.
Rendering never raises: a translation that does not fit its values (a broken placeholder) falls
back to the English sentence and is logged, so a bad catalog entry cannot hide an answer.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from bot.i18n.catalogs import SOURCE, babel_locale, negotiate, translations
from bot.i18n.text import Amount, Day, Duration, Items, Text, Value, use_english

log = logging.getLogger(__name__)

_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


class Lang:
    """Renders ``Text`` in one shipped language."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.locale: Locale = babel_locale(code)
        self._translations = translations(code)

    @classmethod
    def of(cls, requested: str | None) -> Lang:
        """The shipped language closest to ``requested`` (e.g. Discord's ``es-419``)."""
        return _lang(negotiate(requested))

    def __call__(self, text: Text) -> str:
        """``text`` in this language, its values filled in."""
        if text.literal:
            return text.id
        template = self.template(text)
        values = {name: self.value(value) for name, value in text.values.items()}
        try:
            return template.format_map(values)
        except (KeyError, IndexError, ValueError):
            log.warning("the %s translation of %r does not fit its values", self.code, text.id)
            if self.code == SOURCE:
                return text.id
            return source_lang()(text)

    def pgettext(self, context: str, message: str) -> str:
        """A fixed string of the catalog (a command name), without values."""
        return self._translations.pgettext(context, message)

    def template(self, text: Text) -> str:
        """``text``'s sentence in this language, its ``{placeholders}`` left to fill (the
        playground's page fills them itself)."""
        found = self._translations
        if text.plural is not None:
            count = text.count if text.count is not None else 1
            if text.context is not None:
                return found.npgettext(text.context, text.id, text.plural, count)
            return found.ngettext(text.id, text.plural, count)
        if text.context is not None:
            return found.pgettext(text.context, text.id)
        return found.gettext(text.id)

    def value(self, value: Value) -> str:
        """One value the way this language writes it."""
        if isinstance(value, Text):
            return self(value)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return self.number(value)
        if isinstance(value, Amount):
            pattern = "#,##0." + "0" * value.decimals if value.decimals else "#,##0"
            return format_decimal(value.value, format=pattern, locale=self.locale)
        if isinstance(value, Duration):
            return self.duration(value.seconds)
        if isinstance(value, Day):
            return self.day(date.fromisoformat(value.iso))
        if isinstance(value, Items):
            return self.items([self.value(item) for item in value.items], style=value.style)
        return value

    def number(self, value: float) -> str:
        """A quantity: ``1,234.5`` in English, ``1.234,5`` in German, ``1 234,5`` in French."""
        return _decimal(self.code, value)

    def duration(self, seconds: float) -> str:
        """Units from days to seconds, the largest two: "1 hour and 5 minutes", "0.5 seconds"."""
        left = max(0.0, seconds)
        parts: list[str] = []
        for unit, size in _UNITS:
            if size == 1:
                amount: float = round(left, 1) if left < 10 else round(left)
            else:
                amount, left = divmod(left, size)
            if amount:
                amount = int(amount) if float(amount).is_integer() else amount
                parts.append(
                    format_unit(amount, f"duration-{unit}", length="long", locale=self.locale)
                )
            if len(parts) == 2:
                break
        if not parts:
            return format_unit(0, "duration-second", length="long", locale=self.locale)
        # English joins units with "and" (as the command line says it); others as units read.
        style = "standard" if self.code == SOURCE else "unit"
        return format_list(parts, style=style, locale=self.locale)  # type: ignore[arg-type]

    def day(self, day: date) -> str:
        """A calendar day with its weekday, short: "Wed, May 1" / "1. Mai, Mi." / "5月1日周三"."""
        return format_skeleton("MMMEd", day, locale=self.locale)

    def items(self, items: list[str], *, style: str = "standard") -> str:
        """A list joined with this language's commas and "and" (or "or")."""
        if not items:
            return ""
        if style in _JOINERS:
            return _JOINERS[style].join(items)
        return format_list(items, style=style, locale=self.locale)  # type: ignore[arg-type]


_JOINERS = {"plus": " + ", "dots": " · "}  # the same in every language


@lru_cache(maxsize=4096)
def _decimal(code: str, value: float) -> str:
    """Babel parses the locale's pattern on every call; progress messages repeat the same few
    numbers (queue positions, percentages, counts) thousands of times a minute."""
    return format_decimal(value, locale=babel_locale(code))


@cache
def _lang(code: str) -> Lang:
    return Lang(code)


def source_lang() -> Lang:
    """The language the code is written in (English): logs, the command line."""
    return _lang(SOURCE)


use_english(lambda text: source_lang()(text))
