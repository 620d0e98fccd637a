"""The catalogs keep up with the code, and Discord accepts every localized command.

These fail when a marked sentence or a command string lacks a translation in a shipped language,
when a translation's placeholders differ from its source, when the committed template is older
than the code (run ``python3 dev.py i18n``), or when a localized name breaks Discord's rules.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path
from typing import Any

import discord
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.client import EaselBot
from bot.i18n.catalogs import (
    DOMAIN,
    LOCALE_DIR,
    LOCALES,
    SOURCE,
    TEMPLATE,
    TRANSLATED,
    catalog_dir,
    catalog_path,
)
from bot.providers.profiles import SHIPPED_TEXT, load_profiles
from cogs._catalog import code_messages, template
from cogs._i18n import (
    CHOICE,
    COMMAND_HELP,
    DESCRIPTION_MAX,
    OPTION,
    OPTION_HELP,
    EaselTranslator,
    command_strings,
    is_valid_name,
)

ROOT = Path(__file__).resolve().parents[2]
MARKERS = {"_", "_n", "_p"}


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale, domain=DOMAIN)


def keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def fields(text: str) -> set[str]:
    """The ``{placeholders}`` of a brace-format string (``{{`` is not one)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_shipped_language_has_a_catalog_and_every_catalog_is_shipped() -> None:
    """Adding a language is its .po file and one line in TRANSLATED: both or neither."""
    folders = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    assert folders == {catalog_dir(locale) for locale in TRANSLATED}
    assert SOURCE not in TRANSLATED and len(LOCALES) == 10


async def test_the_template_is_what_the_code_and_the_command_tree_say(bot: EaselBot) -> None:
    """A sentence marked in the code or a command string that is not in the template means
    ``python3 dev.py i18n`` was not run."""
    fresh = template(code_messages(), command_strings(bot.tree))
    committed = read(TEMPLATE)
    assert keys(fresh) - keys(committed) == set(), "run `python3 dev.py i18n`"
    assert keys(committed) - keys(fresh) == set(), "run `python3 dev.py i18n`"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    expected = read(TEMPLATE)
    catalog = read(catalog_path(locale), catalog_dir(locale))
    assert keys(catalog) >= keys(expected), "run `python3 dev.py i18n`"
    problems: list[str] = []
    for source in expected:
        if not source.id:
            continue
        message = catalog.get(source.id, source.context)
        assert message is not None
        problems.extend(_problems(message, catalog.num_plurals))
    assert problems == []


def _problems(message: Message, num_plurals: int) -> list[str]:
    """What is wrong with one translated entry (empty: nothing)."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    where = f"{message.context or ''}|{ids[0]!r}"
    if message.fuzzy:
        return [f"{where}: fuzzy (review it, then remove the flag)"]
    if not all(strings):
        return [f"{where}: not translated"]
    if len(ids) > 1 and len(strings) != num_plurals:
        return [f"{where}: {len(strings)} plural forms, the language has {num_plurals}"]
    wanted = set().union(*(fields(text) for text in ids))
    found: list[str] = []
    for text in strings:
        try:
            got = fields(text)
        except ValueError as exc:
            found.append(f"{where}: {text!r} is not a valid format string ({exc})")
            continue
        if got != wanted:
            found.append(f"{where}: placeholders {sorted(got)} instead of {sorted(wanted)}")
    return found


def test_a_missing_or_mismatched_translation_is_reported() -> None:
    """The check above cannot pass by accident."""
    good = Message("{count} file", "{count} Datei")
    assert _problems(good, 2) == []
    assert _problems(Message("{count} file", ""), 2) == ["|'{count} file': not translated"]
    assert _problems(Message("{count} file", "{n} Datei"), 2) == [
        "|'{count} file': placeholders ['n'] instead of ['count']"
    ]
    fuzzy = Message("a", "b", flags=["fuzzy"])
    assert _problems(fuzzy, 2) == ["|'a': fuzzy (review it, then remove the flag)"]
    plural = Message(("{count} file", "{count} files"), ("{count} Datei",))
    assert _problems(plural, 2) == ["|'{count} file': 1 plural forms, the language has 2"]


async def test_every_localized_command_follows_discords_rules(bot: EaselBot) -> None:
    """Walk the real tree through the translator, as a sync does, for every Discord locale."""
    translator = EaselTranslator()
    await translator.load()
    payloads = [
        await c.get_translated_payload(bot.tree, translator) for c in bot.tree.get_commands()
    ]
    problems: list[str] = []
    top: dict[str, set[str]] = {}
    for payload in payloads:
        chat = payload.get("type", 1) == 1
        for locale, name in payload.get("name_localizations", {}).items():
            if chat and not is_valid_name(name):
                problems.append(f"{locale}: /{payload['name']} → {name!r}")
            if not chat and not 1 <= len(name) <= 32:
                problems.append(f"{locale}: menu {payload['name']} → {name!r}")
            top.setdefault(f"{payload.get('type', 1)}:{locale}", set())
            if name in top[f"{payload.get('type', 1)}:{locale}"]:
                problems.append(f"{locale}: two commands named {name!r}")
            top[f"{payload.get('type', 1)}:{locale}"].add(name)
        for locale, text in payload.get("description_localizations", {}).items():
            if not 1 <= len(text) <= DESCRIPTION_MAX:
                problems.append(f"{locale}: /{payload['name']} description {len(text)} chars")
        problems.extend(_option_problems(payload["name"], payload.get("options", [])))
    assert problems == []


def _option_problems(where: str, options: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    names: dict[str, set[str]] = {}
    for option in options:
        path = f"{where} {option['name']}"
        for locale, name in option.get("name_localizations", {}).items():
            if not is_valid_name(name):
                problems.append(f"{locale}: {path} → {name!r}")
            if name in names.setdefault(locale, set()):
                problems.append(f"{locale}: {where} has two options named {name!r}")
            names[locale].add(name)
        for locale, text in option.get("description_localizations", {}).items():
            if not 1 <= len(text) <= DESCRIPTION_MAX:
                problems.append(f"{locale}: {path} description {len(text)} chars")
        for choice in option.get("choices", []):
            for locale, text in choice.get("name_localizations", {}).items():
                if not 1 <= len(text) <= 100:
                    problems.append(f"{locale}: {path} choice {choice['name']!r}")
        problems.extend(_option_problems(path, option.get("options", [])))
    return problems


async def test_the_synced_payload_localizes_everything_in_all_ten_languages(
    bot: EaselBot,
) -> None:
    """Every command, option and choice carries a name (and description) in every language."""
    translator = EaselTranslator()
    await translator.load()
    missing: list[str] = []

    def check(item: dict[str, Any], path: str, *, description: bool) -> None:
        for key in ("name_localizations", *(("description_localizations",) if description else ())):
            lacking = set(LOCALES) - set(item.get(key) or {})
            if lacking:
                missing.append(f"{path} {key}: {sorted(lacking)}")

    for command in bot.tree.get_commands():
        payload = await command.get_translated_payload(bot.tree, translator)
        chat = payload.get("type", 1) == 1
        check(payload, payload["name"], description=chat)

        def walk(options: list[dict[str, Any]], path: str) -> None:
            for option in options:
                check(option, f"{path} {option['name']}", description=True)
                for choice in option.get("choices", []):
                    check(choice, f"{path} {option['name']}={choice['value']}", description=False)
                walk(option.get("options", []), f"{path} {option['name']}")

        walk(payload.get("options", []), payload["name"])
    assert missing == []


def test_spanish_speakers_of_latin_america_read_spanish() -> None:
    """A Discord locale Easel does not ship reads its language's catalog (es-419 → es-ES)."""
    from cogs._i18n import localize

    location = discord.app_commands.TranslationContextLocation.command_description
    spain = localize("Generate images from a prompt", "es-ES", location)
    assert spain and localize("Generate images from a prompt", "es-419", location) == spain
    assert localize("Generate images from a prompt", "it", location) is None
    assert localize("Generate images from a prompt", "en-US", location) == (
        "Generate images from a prompt"
    )


def _marked_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in MARKERS
    ]


def test_marked_text_is_written_out_and_the_marker_is_never_rebound() -> None:
    """Babel reads only string literals; a function that binds ``_`` cannot also call it."""
    problems: list[str] = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/*.py")]):
        tree = ast.parse(path.read_text(), filename=str(path))
        for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
            problems.extend(
                f"{path.relative_to(ROOT)}:{call.lineno}: inside an f-string (Babel cannot see it)"
                for call in _marked_calls(fstring)
            )
        for call in _marked_calls(tree):
            texts = call.args[:2] if call.func.id == "_p" or call.func.id == "_n" else call.args[:1]  # type: ignore[attr-defined]
            if not texts or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in texts
            ):
                problems.append(f"{path.relative_to(ROOT)}:{call.lineno}: not a literal")
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            calls = {c.func.id for c in _marked_calls(func)}  # type: ignore[attr-defined]
            bound = {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)} | {
                n.id
                for n in ast.walk(func)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
            if calls & bound:
                problems.append(f"{path.relative_to(ROOT)}:{func.lineno}: rebinds {calls & bound}")
    assert problems == []


def test_the_shipped_profiles_sentences_are_marked_for_translation() -> None:
    marked = {text.id for text in SHIPPED_TEXT}
    refusals = {p.mask_refusal for p in load_profiles(None).values() if p.mask_refusal}
    assert refusals and refusals <= marked


#: Option and choice names that rightly read as in English. In every language: size tiers, file
#: formats, and the commands a choice names (command names stay English). Per language: words
#: it writes the same way (French "image", German "Format") or the loanword its Discord uses.
SAME_EVERYWHERE = {"1K", "2K", "4K", "PNG", "JPEG", "imagine", "edit", "blend"}
SAME_IN: dict[str, set[str]] = {
    "de": {"format", "prompt", "threads"},
    "es-ES": {"prompt", "spoilers", "2:1 panorama"},
    "fr": {"format", "prompt", "spoilers", "image", "compression", "3:4 portrait", "2:1 panorama"},
    "pt-BR": {"prompt", "spoilers", "16:9 widescreen", "2:1 panorama"},
}
NAMED = (OPTION, CHOICE, COMMAND_HELP, OPTION_HELP)


def left_in_english(catalog: Catalog, locale: str) -> list[str]:
    """Option and choice names (and descriptions) whose translation is their English source,
    in a language that translates the others; the allow-lists above excepted."""
    named = [m for m in catalog if m.id and m.context in NAMED]
    if all(m.string in ("", m.id) for m in named):
        return []  # a language just started: the completeness test reports it
    allowed = SAME_EVERYWHERE | SAME_IN.get(locale, set())
    return [
        f"{m.context}|{m.id}"
        for m in named
        if m.string == m.id and not (m.context in (OPTION, CHOICE) and m.id in allowed)
    ]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_option_and_choice_names_are_translated_where_the_language_has_a_word(
    locale: str,
) -> None:
    catalog = read(catalog_path(locale), catalog_dir(locale))
    assert left_in_english(catalog, locale) == []
    names = {m.id for m in catalog if m.context in (OPTION, CHOICE)}
    assert SAME_IN.get(locale, set()) <= names, "an allow-listed name the commands no longer have"


def test_an_option_name_left_in_english_is_reported() -> None:
    """The check above cannot pass by accident."""
    catalog = Catalog(locale="ja")
    catalog.add("ratio", "比率", context=OPTION)
    catalog.add("daily", "daily", context=OPTION)
    catalog.add("PNG", "PNG", context=CHOICE)
    catalog.add("prompt", "prompt", context=OPTION)
    assert left_in_english(catalog, "ja") == ["option|daily", "option|prompt"]
    assert left_in_english(catalog, "de") == ["option|daily"]
