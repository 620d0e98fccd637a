"""Keep the translation catalogs in step with the code: ``python3 dev.py i18n``.

Two sources make the template ``bot/locales/easel.pot``: Babel extracts every ``_``, ``_n`` and
``_p`` call in ``bot/`` and ``cogs/`` (a ``# Translators:`` comment above a call reaches the
translator), and ``command_strings`` walks the real command tree (names, descriptions, choices,
each with its context and Discord's limit). The template is then merged into every shipped
``.po``: new entries arrive empty (or *fuzzy* when an old translation looks close), entries the
code no longer has are dropped. The tool ends by listing what each language still lacks; the
tests fail until it is nothing.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n.catalogs import DOMAIN, TEMPLATE, TRANSLATED, catalog_dir, catalog_path
from cogs._i18n import LIMITS, CommandString, command_strings

ROOT = Path(__file__).resolve().parent.parent
#: The markers (``bot.i18n.text``) as Babel keyword specs: ``_n`` has a plural, ``_p`` a context.
KEYWORDS = {"_": None, "_n": (1, 2), "_p": ((1, "c"), 2)}
MAPPING = [("bot/**.py", "python"), ("cogs/**.py", "python")]
COMMENT_TAGS = ("Translators:",)
WIDTH = 100
PROJECT = "Easel"
HEADER = """\
# Easel's messages. Translators: edit only the msgstr lines (keep every {placeholder} as it is);
# `python3 dev.py i18n` adds what the code gained and drops what it lost.
#"""

Extracted = tuple[str, int, str | tuple[str, ...], list[str], str | None]


def code_messages(root: Path = ROOT) -> list[Extracted]:
    """Every marked sentence in the code: (file, line, message(s), comments, context)."""
    return list(
        extract_from_dir(
            root,
            MAPPING,
            keywords=KEYWORDS,
            comment_tags=COMMENT_TAGS,
            strip_comment_tags=True,
            directory_filter=lambda path: _wanted_directory(root, path),
        )
    )


def _wanted_directory(root: Path, path: str) -> bool:
    """Only ``bot/`` and ``cogs/`` (not caches, not the virtualenv, not tests)."""
    parts = Path(path).resolve().relative_to(root.resolve()).parts
    return bool(parts) and parts[0] in ("bot", "cogs") and not parts[-1].startswith((".", "__"))


def template(code: Iterable[Extracted], commands: Iterable[CommandString]) -> Catalog:
    """The catalog template: the code's sentences, then the command tree's strings."""
    catalog = Catalog(project=PROJECT, domain=DOMAIN, header_comment=HEADER, fuzzy=False)
    for filename, lineno, message, comments, context in code:
        catalog.add(
            message,
            None,
            [(Path(filename).as_posix(), lineno)],
            auto_comments=comments,
            context=context,
        )
    for string in commands:
        where = [(_relative(string.source[0]), string.source[1])] if string.source else []
        existing = catalog.get(string.message, string.context)
        comment = f"{string.where} ({LIMITS[string.context]})"
        if existing is not None:
            existing.locations = [*existing.locations, *where]
            continue
        catalog.add(string.message, None, where, auto_comments=[comment], context=string.context)
    return catalog


def _relative(filename: str) -> str:
    path = Path(filename)
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


async def tree_strings() -> list[CommandString]:
    """The command tree's strings, from a bot built as it runs (sandbox, throwaway database)."""
    from bot.client import EaselBot
    from bot.runtime import open_services
    from bot.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="easel-i18n-") as folder:
        settings = load_settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/easel.sqlite3",
            image_provider="sandbox",
            sync_commands=False,
        )
        async with open_services(settings) as services:
            bot = EaselBot(settings, engine=services.engine, policy=services.policy)
            # What login would do first: bind the bot to this loop, so it can close unconnected
            # (a sharded client's close needs the queue this sets up).
            await bot._async_setup_hook()
            try:
                for name in bot.initial_extensions:
                    await bot.load_extension(name)
                return list(command_strings(bot.tree))
            finally:
                await bot.close()


def merge(template: Catalog, locale: str) -> Catalog:
    """``locale``'s catalog brought up to ``template`` (a new language starts empty)."""
    path = catalog_path(locale)
    if path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale=catalog_dir(locale), domain=DOMAIN)
    else:
        catalog = Catalog(
            locale=catalog_dir(locale), domain=DOMAIN, project=PROJECT, header_comment=HEADER
        )
    catalog.update(template, update_creation_date=False)
    return catalog


def missing(catalog: Catalog) -> Iterator[str]:
    """The entries a reader of ``catalog`` would see in English: empty or fuzzy."""
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            key = message.id if isinstance(message.id, str) else message.id[0]
            yield f"{message.context} | {key}" if message.context else key


def save(catalog: Catalog, path: Path) -> None:
    """Write a catalog the way the repository keeps them (no line numbers: fewer conflicts).

    A file whose entries did not change is left alone (not even its creation date moves).
    """
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, ignore_obsolete=True, include_lineno=False)
    if path.exists() and _undated(path.read_bytes()) == _undated(buffer.getvalue()):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def _undated(po: bytes) -> bytes:
    return re.sub(rb'"(POT-Creation|PO-Revision)-Date: [^"]*"', b"", po)


def main() -> int:
    """Extract, merge into every language, and list what is left to translate."""
    pot = template(code_messages(), asyncio.run(tree_strings()))
    save(pot, TEMPLATE)
    print(f"{TEMPLATE.relative_to(ROOT)}: {len(pot)} messages")
    lacking = 0
    for locale in TRANSLATED:
        catalog = merge(pot, locale)
        save(catalog, catalog_path(locale))
        todo = list(missing(catalog))
        lacking += len(todo)
        print(f"{locale}: {len(todo)} to translate or review")
        for key in todo:
            print(f"    {key}")
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main())
