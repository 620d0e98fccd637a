"""Speaking the member's language on Discord: the command Translator and the reader of each reply.

Replies: ``lang_for(interaction)`` is the reader of an answer (the server's language if its
admins set one, else the member's Discord language); ``lang_for_job`` is the reader of a message
sent later, without an interaction (the job's stored locale, else the server's preferred one);
``lang_for_server`` reads the moderation log. Then ``tr = lang_for(interaction)`` and
``tr(_("Sentence with {value}", value=...))``: the one way every cog renders text.

Commands: ``EaselTranslator`` gives Discord every command, option and choice name and description
in every shipped language when the tree is synced. Their English source strings are the catalog's
message ids with a context naming what they are (``command``, ``option``, ``choice``…), extracted
from the real command tree by ``command_strings`` (``cogs._catalog``). A translated name that
breaks Discord's rules is never sent (one bad name would fail the whole sync): it falls back to
English and is logged, and the tests fail on it first.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import SOURCE, Lang, negotiate, preload
from bot.i18n.catalogs import LOCALES, language_name

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

NAME_MAX = 32
DESCRIPTION_MAX = 100
CHOICE_MAX = 100
_NUMBERED = re.compile(r"^(\D+?)(\d+)$")  # reference2 … reference10: one name, numbered
# Discord's rule for chat-input names: ^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$, lowercase.
_DEVANAGARI = range(0x0900, 0x0980)
_THAI = range(0x0E00, 0x0E80)

# msgctxt of each kind of command string: translators see what a string is and its limits.
COMMAND = "command"  # a slash command, subcommand or group name
MENU = "context menu"  # a message or user command name (spaces and capitals allowed)
OPTION = "option"
COMMAND_HELP = "command description"
OPTION_HELP = "option description"
CHOICE = "choice"
_CONTEXTS = {
    Where.command_name: COMMAND,
    Where.group_name: COMMAND,
    Where.command_description: COMMAND_HELP,
    Where.group_description: COMMAND_HELP,
    Where.parameter_name: OPTION,
    Where.parameter_description: OPTION_HELP,
    Where.choice_name: CHOICE,
}
LIMITS = {
    COMMAND: "lowercase letters, digits, - or _, no spaces, at most 32 characters",
    MENU: "at most 32 characters",
    OPTION: "lowercase letters, digits, - or _, no spaces, at most 32 characters",
    COMMAND_HELP: "at most 100 characters",
    OPTION_HELP: "at most 100 characters",
    CHOICE: "at most 100 characters",
}


def lang_for(interaction: discord.Interaction[EaselBot]) -> Lang:
    """The reader of an answer to ``interaction``: the server's language, else the member's."""
    chosen = server_language(interaction.client, interaction.guild_id)
    return Lang.of(chosen or interaction.locale.value)


def lang_for_job(bot: EaselBot, guild_id: int | None, locale: str | None) -> Lang:
    """The reader of a job's later messages: the server's language, the requester's, the
    server's preferred one (Discord's Community setting), in that order."""
    chosen = server_language(bot, guild_id)
    return Lang.of(chosen or locale or _preferred_locale(bot, guild_id))


def lang_for_server(bot: EaselBot, guild_id: int | None) -> Lang:
    """The reader of what a whole server's staff read (the moderation log)."""
    return Lang.of(server_language(bot, guild_id) or _preferred_locale(bot, guild_id))


def server_language(bot: EaselBot, guild_id: int | None) -> str | None:
    """The language a server's admins chose with ``/easel language`` (None: each member's)."""
    if guild_id is None:
        return None
    policy = getattr(bot, "policy", None)
    if policy is None:
        return None
    language: str | None = policy.settings(guild_id).language
    return language


def _preferred_locale(bot: EaselBot, guild_id: int | None) -> str | None:
    guild = bot.get_guild(guild_id) if guild_id is not None else None
    return guild.preferred_locale.value if guild is not None else None


# ------------------------------------------------------------------------ command strings

AUTO_LANGUAGE = "auto"  # /easel language: each member's own


def language_choices() -> list[app_commands.Choice[str]]:
    """``/easel language``: each member's own, or one shipped language (named in itself)."""
    return [
        app_commands.Choice(name="Each member's own Discord language", value=AUTO_LANGUAGE),
        *(app_commands.Choice(name=language_name(code, SOURCE), value=code) for code in LOCALES),
    ]


def _is_language_choice(data: Any) -> bool:
    """A language's own choice: its name is made per reader, not looked up in a catalog."""
    return isinstance(data, app_commands.Choice) and data.value in LOCALES


def is_valid_name(name: str) -> bool:
    """Discord's rule for slash command and option names (in any language)."""
    if not 1 <= len(name) <= NAME_MAX or name != name.lower():
        return False
    return all(
        ch in "-_"
        or unicodedata.category(ch)[0] in "LN"
        or ord(ch) in _DEVANAGARI
        or ord(ch) in _THAI
        for ch in name
    )


def split_numbered(name: str) -> tuple[str, str]:
    """``("reference", "2")`` for ``reference2``; numbered options share one translation."""
    match = _NUMBERED.match(name)
    return (match.group(1), match.group(2)) if match else (name, "")


@dataclass(frozen=True)
class CommandString:
    """One string of the command tree as the catalog holds it."""

    context: str
    message: str
    where: str  # e.g. "/imagine ratio", for the translator's comment
    source: tuple[str, int] | None = None  # the callback's file and line


def _source(callback: Any) -> tuple[str, int] | None:
    code = getattr(callback, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code is not None else None


def command_strings(tree: app_commands.CommandTree[Any]) -> Iterator[CommandString]:
    """Every name, description and choice name of the tree's commands, as the catalog keys them."""
    for command in tree.get_commands():
        yield from _strings_of(command, "")


def _strings_of(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu,
    prefix: str,
) -> Iterator[CommandString]:
    if isinstance(command, app_commands.ContextMenu):
        yield CommandString(MENU, command.name, command.name, _source(command.callback))
        return
    where = f"{prefix}/{command.name}" if not prefix else f"{prefix} {command.name}"
    source = _source(getattr(command, "callback", None))
    yield CommandString(COMMAND, command.name, where, source)
    yield CommandString(COMMAND_HELP, command.description, where, source)
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            yield from _strings_of(child, where)
        return
    for parameter in command.parameters:
        option = f"{where} {parameter.display_name}"
        yield CommandString(OPTION, split_numbered(parameter.display_name)[0], option, source)
        yield CommandString(OPTION_HELP, parameter.description, option, source)
        for choice in parameter.choices:
            if not _is_language_choice(choice):
                yield CommandString(CHOICE, choice.name, option, source)


class EaselTranslator(app_commands.Translator):
    """Serves the catalogs' command names, descriptions and choices to discord.py's sync."""

    async def load(self) -> None:
        """Compile every catalog once, off the event loop."""
        await asyncio.to_thread(preload)

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """``string`` in ``locale``; None where Discord should show the English."""
        return localize(string.message, locale.value, context.location, context.data)


def localize(message: str, locale: str, location: Where, data: Any = None) -> str | None:
    """The localized command string, or None (unshipped language, English, or a bad name)."""
    code = negotiate(locale)
    if code == SOURCE:
        return message if locale == SOURCE else None
    if code not in LOCALES:
        return None
    if location is Where.choice_name and _is_language_choice(data):
        return language_name(data.value, code)
    menu = location is Where.command_name and isinstance(data, app_commands.ContextMenu)
    context = MENU if menu else _CONTEXTS.get(location)
    if context is None:
        return None
    lang = Lang.of(code)
    base, number = split_numbered(message) if context == OPTION else (message, "")
    translated = lang.pgettext(context, base) + number
    if context in (COMMAND, OPTION):
        translated = translated.lower()
        if not is_valid_name(translated):
            log.warning("%s name %r for %r breaks Discord's rules", code, translated, message)
            return None
    elif not 1 <= len(translated) <= (NAME_MAX if context == MENU else DESCRIPTION_MAX):
        log.warning("%s text %r for %r is too long for Discord", code, translated, message)
        return None
    return translated
