"""Discord's locales and its rules for localized command names, descriptions and choices.

A command, option or choice may carry ``name_localizations`` (and commands and options
``description_localizations``): a map from a Discord locale to the text its users see. Sync
refuses an unknown locale, a name outside the name rule (lowercase where the script has case,
letters, numbers, ``-``, ``_``, Devanagari and Thai, 1-32 characters) or a text over its length,
with the same 50035 errors as the field itself.
"""

from __future__ import annotations

import unicodedata
from typing import Any

#: Every locale Discord's clients send as ``interaction.locale`` and accept in localizations.
LOCALES = frozenset(
    {
        "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
        "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru",
        "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
    }
)  # fmt: skip
MAX_NAME = 32
MAX_DESCRIPTION = 100
MAX_CHOICE_NAME = 100
_DEVANAGARI = range(0x0900, 0x0980)
_THAI = range(0x0E00, 0x0E80)

Errors = list[tuple[str, str, str]]


def is_command_name(name: str) -> bool:
    """Discord's name rule: ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lowercase.

    Lowercase where the script has case (Latin, Cyrillic, Greek); Chinese, Japanese and Korean
    names have none.
    """
    if not 1 <= len(name) <= MAX_NAME or name != name.lower():
        return False
    return all(
        ch in "-_'"
        or unicodedata.category(ch)[0] in "LN"
        or ord(ch) in _DEVANAGARI
        or ord(ch) in _THAI
        for ch in name
    )


def check_localizations(
    errors: Errors, path: str, item: dict[str, Any], *, chat_input: bool, choice: bool = False
) -> None:
    """Check ``item``'s ``name_localizations`` and ``description_localizations``."""
    names = item.get("name_localizations")
    for locale, text in _entries(errors, f"{path}.name_localizations", names):
        where = f"{path}.name_localizations.{locale}"
        if choice:
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_CHOICE_NAME:
                errors.append(
                    (where, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
                )
        elif not isinstance(text, str) or not 1 <= len(text) <= MAX_NAME:
            errors.append((where, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."))
        elif chat_input and not is_command_name(text):
            errors.append((where, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))
    descriptions = item.get("description_localizations")
    for locale, text in _entries(errors, f"{path}.description_localizations", descriptions):
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_DESCRIPTION:
            errors.append(
                (
                    f"{path}.description_localizations.{locale}",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            )


def _entries(errors: Errors, path: str, value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        errors.append((path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"))
        return []
    unknown = sorted(str(key) for key in value if key not in LOCALES)
    for key in unknown:
        errors.append((f"{path}.{key}", "LOCALE_INVALID", f"Invalid locale: {key}"))
    return [(str(key), text) for key, text in value.items() if key in LOCALES]


def localized(item: dict[str, Any], field: str, locale: str | None) -> str:
    """``item[field]`` as ``locale``'s users see it (the default where not localized)."""
    default = str(item.get(field, ""))
    if locale is None:
        return default
    texts = item.get(f"{field}_localizations") or {}
    text = texts.get(locale) if isinstance(texts, dict) else None
    return text if isinstance(text, str) else default
