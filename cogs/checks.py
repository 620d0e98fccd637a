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
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.enums import AppCommandOptionType as OptionType
from discord.ext import commands

from bot.client import Interaction
from cogs._answers import Refused

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

SHOWN_CHARS = 40  # of a refused value, in the answer
GROUP_TYPES = (OptionType.subcommand.value, OptionType.subcommand_group.value)
TYPE_NAMES = {
    OptionType.string: "text",
    OptionType.integer: "a whole number",
    OptionType.number: "a number",
    OptionType.boolean: "true or false",
    OptionType.user: "a member",
    OptionType.channel: "a channel",
    OptionType.role: "a role",
    OptionType.mentionable: "a member or a role",
    OptionType.attachment: "a file",
}
CHANNEL_NAMES = {
    discord.ChannelType.text: "text channel",
    discord.ChannelType.voice: "voice channel",
    discord.ChannelType.category: "category",
    discord.ChannelType.news: "announcement channel",
    discord.ChannelType.stage_voice: "stage",
    discord.ChannelType.forum: "forum",
    discord.ChannelType.media: "media channel",
    discord.ChannelType.news_thread: "thread",
    discord.ChannelType.public_thread: "thread",
    discord.ChannelType.private_thread: "thread",
}


def shown(value: Any) -> str:
    """A refused value as the answer quotes it: short, in code, unable to break the markdown."""
    text = str(value).replace("`", "ˋ").replace("\n", " ")
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return f"`{text}`" if text.strip() else "nothing"


def number(value: float) -> str:
    """``6000`` as ``6,000``; ``2.5`` as is."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,g}"


def leaf_options(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The options of the command that runs (inside its subcommand group and subcommand)."""
    options: Sequence[Mapping[str, Any]] = data.get("options") or []
    while len(options) == 1 and options[0].get("type") in GROUP_TYPES:
        options = options[0].get("options") or []
    return list(options)


def problem(
    parameter: app_commands.Parameter, value: Any, resolved: Mapping[str, Any]
) -> str | None:
    """What is wrong with ``value`` for ``parameter`` by its declaration; None if nothing."""
    name = f"`{parameter.display_name}`"
    kind = parameter.type
    if kind in (OptionType.integer, OptionType.number):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is OptionType.integer and not isinstance(value, int)):
            return f"{name} must be {TYPE_NAMES[kind]} (got {shown(value)})."
        low, high = parameter.min_value, parameter.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{name} must be {bounds(low, high)} (got {number(value)})."
    if kind is OptionType.string:
        if not isinstance(value, str):
            return f"{name} must be text (got {shown(value)})."
        low, high = parameter.min_value, parameter.max_value
        if high is not None and len(value) > high:
            return (
                f"{name} is {len(value):,} characters long; it can be at most "
                f"{number(high)} characters."
            )
        if low is not None and len(value) < low:
            if not value:
                return f"{name} can't be empty."
            return f"{name} must be at least {number(low)} characters long (got {len(value)})."
    if parameter.choices and value not in [choice.value for choice in parameter.choices]:
        allowed = ", ".join(str(choice.value) for choice in parameter.choices)
        return f"{name} must be one of: {allowed} (got {shown(value)})."
    if kind is OptionType.channel and parameter.channel_types:
        channel = (resolved.get("channels") or {}).get(str(value)) or {}
        sent = channel.get("type")
        allowed_types = {channel_type.value for channel_type in parameter.channel_types}
        if sent is not None and sent not in allowed_types:
            names = sorted({CHANNEL_NAMES.get(t, t.name) for t in parameter.channel_types})
            got = next((n for t, n in CHANNEL_NAMES.items() if t.value == sent), "another kind")
            return f"{name} must be a {' or '.join(names)} (got: {got})."
    return None


def bounds(low: float | None, high: float | None) -> str:
    """``between 1 and 10``, ``at least 0`` or ``at most 30``."""
    if low is not None and high is not None:
        return f"between {number(low)} and {number(high)}"
    if low is not None:
        return f"at least {number(low)}"
    return f"at most {number(high or 0)}"


def declared_problem(
    command: app_commands.Command[Any, ..., Any], data: Mapping[str, Any]
) -> str | None:
    """The first option of ``data`` (an interaction's) that breaks ``command``'s declaration."""
    sent = {str(option.get("name")): option.get("value") for option in leaf_options(data)}
    resolved = data.get("resolved") or {}
    for parameter in command.parameters:
        if parameter.display_name not in sent:
            if parameter.required:
                return f"`{parameter.display_name}` is required: give it a value."
            continue
        found = problem(parameter, sent[parameter.display_name], resolved)
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
    found = declared_problem(command, dict(interaction.data or {}))
    if found is None:
        return True
    log.info(
        "user %s sent /%s an option outside its declaration: %s",
        interaction.user.id,
        command.qualified_name,
        found,
    )
    raise Refused(f"⚠️ {found} Nothing was run.")


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
