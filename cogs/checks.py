"""Every command's options re-checked against what the command declares, before it runs.

Discord's clients enforce an option's range, length, choices and channel types, but its API
passes on whatever a modified client sends (a 0 for a ``1-10`` option, ``rule:bogus`` for a
three-way choice, a 6,001-character prompt). This extension adds one check to the command tree
that compares each option a member sent with its declaration (``app_commands.Parameter``), so
no command has to remember to: a value outside what is declared is refused privately, naming
the option, the value and what is allowed, before the command (or any upstream request) runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation
from discord.enums import AppCommandOptionType as OptionType
from discord.ext import commands

from bot.client import Interaction
from bot.i18n import Items, Text, Value, _, literal
from cogs._answers import Refused
from cogs._i18n import localize

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

SHOWN_CHARS = 40  # of a refused value, in the answer
GROUP_TYPES = (OptionType.subcommand.value, OptionType.subcommand_group.value)
TYPE_NAMES = {
    OptionType.string: _("text"),
    OptionType.integer: _("a whole number"),
    OptionType.number: _("a number"),
    OptionType.boolean: _("true or false"),
    OptionType.user: _("a member"),
    OptionType.channel: _("a channel"),
    OptionType.role: _("a role"),
    OptionType.mentionable: _("a member or a role"),
    OptionType.attachment: _("a file"),
}
CHANNEL_NAMES = {
    discord.ChannelType.text: _("text channel"),
    discord.ChannelType.voice: _("voice channel"),
    discord.ChannelType.category: _("category"),
    discord.ChannelType.news: _("announcement channel"),
    discord.ChannelType.stage_voice: _("stage"),
    discord.ChannelType.forum: _("forum"),
    discord.ChannelType.media: _("media channel"),
    discord.ChannelType.news_thread: _("thread"),
    discord.ChannelType.public_thread: _("thread"),
    discord.ChannelType.private_thread: _("thread"),
}


def shown(value: Any) -> Value:
    """A refused value as the answer quotes it: short, in code, unable to break the markdown."""
    text = str(value).replace("`", "ˋ").replace("\n", " ")
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return f"`{text}`" if text.strip() else _("nothing")


def leaf_options(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The options of the command that runs (inside its subcommand group and subcommand)."""
    options: Sequence[Mapping[str, Any]] = data.get("options") or []
    while len(options) == 1 and options[0].get("type") in GROUP_TYPES:
        options = options[0].get("options") or []
    return list(options)


@lru_cache(maxsize=4096)
def option_name(parameter: app_commands.Parameter, locale: str | None) -> str:
    """The option as the member's client names it (its localized name), in code.

    Cached: every option of every command is checked on every interaction, and a declared
    option and its translations never change while the bot runs."""
    name = parameter.display_name
    where = TranslationContextLocation.parameter_name
    return f"`{(localize(name, locale, where) if locale else None) or name}`"


def problem(
    parameter: app_commands.Parameter,
    value: Any,
    resolved: Mapping[str, Any],
    locale: str | None = None,
) -> Text | None:
    """What is wrong with ``value`` for ``parameter`` by its declaration; None if nothing."""
    name = option_name(parameter, locale)  # cached: this runs for every option sent
    kind = parameter.type
    if kind in (OptionType.integer, OptionType.number):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is OptionType.integer and not isinstance(value, int)):
            return _(
                "{name} must be {kind} (got {value}).",
                name=name,
                kind=TYPE_NAMES[kind],
                value=shown(value),
            )
        low, high = parameter.min_value, parameter.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            return _(
                "{name} must be {bounds} (got {value}).",
                name=name,
                bounds=bounds(low, high),
                value=value,
            )
    if kind is OptionType.string:
        if not isinstance(value, str):
            return _("{name} must be text (got {value}).", name=name, value=shown(value))
        low, high = parameter.min_value, parameter.max_value
        if high is not None and len(value) > high:
            return _(
                "{name} is {length} characters long; it can be at most {max} characters.",
                name=name,
                length=len(value),
                max=high,
            )
        if low is not None and len(value) < low:
            if not value:
                return _("{name} can't be empty.", name=name)
            return _(
                "{name} must be at least {min} characters long (got {length}).",
                name=name,
                min=low,
                length=len(value),
            )
    if parameter.choices and value not in [choice.value for choice in parameter.choices]:
        allowed = ", ".join(str(choice.value) for choice in parameter.choices)
        return _(
            "{name} must be one of: {allowed} (got {value}).",
            name=name,
            allowed=allowed,
            value=shown(value),
        )
    if kind is OptionType.channel and parameter.channel_types:
        channel = (resolved.get("channels") or {}).get(str(value)) or {}
        sent = channel.get("type")
        allowed_types = {channel_type.value for channel_type in parameter.channel_types}
        if sent is not None and sent not in allowed_types:
            kinds = {
                found.id: found
                for found in (
                    CHANNEL_NAMES.get(t, literal(t.name)) for t in parameter.channel_types
                )
            }
            got = next((n for t, n in CHANNEL_NAMES.items() if t.value == sent), None)
            return _(
                "{name} must be a {kinds} (got: {got}).",
                name=name,
                kinds=Items(items=tuple(kinds[key] for key in sorted(kinds)), style="or"),
                got=got or _("another kind"),
            )
    return None


def bounds(low: float | None, high: float | None) -> Text:
    """``between 1 and 10``, ``at least 0`` or ``at most 30``."""
    if low is not None and high is not None:
        return _("between {low} and {high}", low=low, high=high)
    if low is not None:
        return _("at least {low}", low=low)
    return _("at most {high}", high=high or 0)


@dataclass(frozen=True, slots=True)
class _Declared:
    """One declared option, with what the check reads of it on every interaction."""

    name: str
    required: bool
    parameter: app_commands.Parameter


@lru_cache(maxsize=128)
def _declared(command: app_commands.Command[Any, ..., Any]) -> tuple[_Declared, ...]:
    """A command's declared options: discord.py builds a fresh list on every ``parameters`` read
    (and derives each name anew), and a command's declaration never changes once it is in the
    tree."""
    return tuple(_Declared(p.display_name, p.required, p) for p in command.parameters)


def declared_problem(
    command: app_commands.Command[Any, ..., Any],
    data: Mapping[str, Any],
    locale: str | None = None,
) -> Text | None:
    """The first option of ``data`` (an interaction's) that breaks ``command``'s declaration."""
    sent = {str(option.get("name")): option.get("value") for option in leaf_options(data)}
    resolved = data.get("resolved") or {}
    for declared in _declared(command):
        if declared.name not in sent:
            if declared.required:
                return _(
                    "{name} is required: give it a value.",
                    name=option_name(declared.parameter, locale),
                )
            continue
        found = problem(declared.parameter, sent[declared.name], resolved, locale)
        if found is not None:
            return found
    return None


async def check_declared_options(interaction: Interaction) -> bool:
    """The tree check: refuse (privately, through the error hook) an option out of bounds."""
    command = interaction.command
    if interaction.type is not discord.InteractionType.application_command:
        return True  # autocomplete sends half-typed values on purpose
    if not isinstance(command, app_commands.Command):
        return True  # context menus have no options
    found = declared_problem(command, dict(interaction.data or {}), interaction.locale.value)
    if found is None:
        return True
    log.info(
        "user %s sent /%s an option outside its declaration: %s",
        interaction.user.id,
        command.qualified_name,
        found,
    )
    raise Refused(_("⚠️ {problem} Nothing was run.", problem=found))


class DeclaredOptions(commands.Cog):
    """Adds the declared-options check to the command tree while loaded."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Check every application command from now on."""
        self.bot.tree.checks.append(check_declared_options)

    async def cog_unload(self) -> None:
        """Stop checking."""
        if check_declared_options in self.bot.tree.checks:
            self.bot.tree.checks.remove(check_declared_options)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(DeclaredOptions(bot))
