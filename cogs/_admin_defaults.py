"""``/easel defaults``: the options Easel uses when a member leaves them out, for the whole
server and per channel (a category covers its channels; threads follow their channel).

A default the image service or the server's rules would refuse is refused here, with the reason,
not when a member's job runs. Members' own defaults (``/settings``) and options they type win.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice, Range
from pydantic import ValidationError

from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import Lang, Text, _, _n, literal, markup
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.defaults import AUTO_RATIO, OPTION_NAMES, DefaultLayer, JobDefaults, OptionField
from bot.policy.models import GuildSettings
from cogs._answers import Refused, answer_privately
from cogs._defaults import check_layers
from cogs._i18n import lang_for
from cogs._options import RATIO_CHOICES, parse_choice
from cogs._signature import Callback, add_options, optional

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

NO_DEFAULT = "none"
Place = app_commands.AppCommandChannel | app_commands.AppCommandThread

RATIO_DEFAULTS = [*RATIO_CHOICES, Choice(name="no default", value=NO_DEFAULT)]
RESOLUTION_DEFAULTS = [
    *(Choice(name=r.value, value=r.value) for r in Resolution),
    Choice(name="no default", value=NO_DEFAULT),
]
QUALITY_DEFAULTS = [
    *(Choice(name=q.value, value=q.value) for q in Quality),
    Choice(name="no default", value=NO_DEFAULT),
]
FORMAT_DEFAULTS = [
    *(Choice(name=f.value.upper(), value=f.value) for f in OutputFormat),
    Choice(name="no default", value=NO_DEFAULT),
]
OPTION_HELP = {
    "ratio": "Aspect ratio for /imagine (no default: 1:1; edits keep the image's shape)",
    "resolution": "Size tier (checked against the image service)",
    "quality": "Rendering quality, where the image service takes one",
    "output_format": "File format",
    "n": "Images per job (0: no default, i.e. 1)",
    "reset": "Clear every default here first",
}
CHOICES = {
    "ratio": RATIO_DEFAULTS,
    "resolution": RESOLUTION_DEFAULTS,
    "quality": QUALITY_DEFAULTS,
    "output_format": FORMAT_DEFAULTS,
}


async def admin_only(interaction: Interaction) -> bool:
    """The ``/easel`` check (Manage Server, in code): subgroups run their own, so ask the cog's."""
    cog = interaction.client.get_cog("Admin")
    if cog is None:
        raise Refused(_("Easel's server settings are not loaded right now; try again shortly."))
    return bool(await discord.utils.maybe_coroutine(cog.interaction_check, interaction))


@dataclass(frozen=True)
class DefaultsChange:
    """The defaults options as typed: values to set, options to clear ("none", ``n:0``), reset."""

    given: dict[OptionField, Any]
    cleared: set[OptionField]
    reset: bool

    @property
    def empty(self) -> bool:
        """Nothing given: the command shows the defaults instead of changing them."""
        return not self.given and not self.cleared and not self.reset

    def applied_to(self, current: JobDefaults) -> JobDefaults:
        """``current`` (nothing, after a reset) with the changes, or ``InputError``."""
        return changed(JobDefaults() if self.reset else current, self.given, self.cleared)


def parse_defaults(values: dict[str, Any]) -> DefaultsChange:
    """The defaults options as a change; a bad value is an ``InputError`` naming it."""
    given: dict[OptionField, Any] = {}
    cleared: set[OptionField] = set()
    choices: dict[OptionField, type[StrEnum]] = {
        "ratio": Ratio,
        "resolution": Resolution,
        "quality": Quality,
        "output_format": OutputFormat,
    }
    for field, enum in choices.items():
        value = values[field]
        if value is not None and value.strip().lower() == NO_DEFAULT:
            cleared.add(field)
        elif (parsed := parse_choice(enum, value, OPTION_NAMES[field])) is not None:
            given[field] = parsed
    n = values["n"]
    if n == 0:
        cleared.add("n")
    elif n is not None:
        given["n"] = n
    return DefaultsChange(given, cleared, reset=bool(values["reset"]))


def defaults_options(callback: Callback) -> Callback:
    """Add the defaults options (ratio, resolution, quality, format, n, reset) after a command
    callback's own; it takes them as keyword-only ``change: DefaultsChange``. A ``describe``
    above this decorator may override a description."""
    added = [
        *(optional(name, str) for name in ("ratio", "resolution", "quality", "output_format")),
        optional("n", Range[int, 0, 10]),
        optional("reset", bool, default=False),
    ]
    command = add_options(added, lambda values: {"change": parse_defaults(values)})(callback)
    command = app_commands.rename(output_format="format")(command)
    command = app_commands.describe(**OPTION_HELP)(command)
    return app_commands.choices(**CHOICES)(command)


def changed(
    current: JobDefaults, given: dict[OptionField, Any], cleared: set[OptionField]
) -> JobDefaults:
    """``current`` with the changes, or ``InputError`` saying what is wrong."""
    try:
        return current.changed(given, cleared)
    except ValidationError as exc:
        said = str(exc.errors()[0].get("msg", exc)).removeprefix("Value error, ")
        problem = (
            _("auto is not a default ratio: edits keep the image's shape anyway")
            if said == AUTO_RATIO
            else literal(said)
        )
        raise InputError(_("Easel can't use that default: {problem}.", problem=problem)) from None


def conflicts(interaction: Interaction, settings: GuildSettings, server: JobDefaults) -> list[Text]:
    """Channels whose own defaults no longer fit with these server defaults, and why."""
    found = []
    for place, defaults in sorted(settings.channel_defaults.items()):
        layers = [
            DefaultLayer(source="channel", defaults=defaults, place=place),
            DefaultLayer(source="server", defaults=server),
        ]
        if (problem := check_layers(interaction, layers)) is not None:
            # Translators: a channel, its own defaults, and why they conflict with the server's.
            found.append(
                _(
                    "{channel} ({defaults}): {problem}",
                    channel=markup.channel(place),
                    defaults=defaults.describe(),
                    problem=problem,
                )
            )
    return found


class DefaultsGroup(app_commands.Group, name="defaults", description="Options used when left out"):
    """The server's and channels' defaults."""

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Manage Server only, like every ``/easel`` command."""
        return await admin_only(interaction)

    @app_commands.command(name="server", description="Defaults for the whole server")
    @defaults_options
    async def server(self, interaction: Interaction, *, change: DefaultsChange) -> None:
        """Set (or clear) the server's defaults; options left out stay as they are."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        tr = lang_for(interaction)
        policy = interaction.client.policy
        settings = policy.settings(guild_id)
        if change.empty:
            await answer_privately(
                interaction,
                tr(
                    _(
                        "Server defaults: {defaults}. Give an option to change one, or `reset`.",
                        defaults=settings.defaults.describe(),
                    )
                ),
            )
            return
        new = change.applied_to(settings.defaults)
        problem = check_layers(interaction, [DefaultLayer(source="server", defaults=new)])
        if problem is not None:
            raise InputError(
                _("Easel can't use these defaults: {problem} Nothing was changed.", problem=problem)
            )
        notes = conflicts(interaction, settings, new)
        await policy.update(guild_id, by=interaction.user.id, defaults=new)
        text = tr(
            _(
                "✅ Server defaults: {defaults}. Channel defaults, members' own (`/settings`) "
                "and options they type win over these.",
                defaults=new.describe(),
            )
        )
        if notes:
            text += "\n" + tr(
                _(
                    "⚠️ Where these channels' own defaults conflict with these, the server's "
                    "default is left out of their jobs: {channels}",
                    channels="; ".join(tr(note) for note in notes[:5]),
                )
            )
        await answer_privately(interaction, text)

    @app_commands.command(name="channel", description="Defaults in one channel or category")
    @app_commands.describe(channel="A channel, thread or category")
    @defaults_options
    async def channel(
        self, interaction: Interaction, channel: Place, *, change: DefaultsChange
    ) -> None:
        """Set (or clear) one channel's defaults, over the server's."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        tr = lang_for(interaction)
        policy = interaction.client.policy
        settings = policy.settings(guild_id)
        current = settings.channel_defaults.get(channel.id, JobDefaults())
        if change.empty:
            await answer_privately(
                interaction,
                tr(
                    _(
                        "{channel}'s defaults: {defaults} (server: {server}). Give an option to "
                        "change one, or `reset`.",
                        channel=markup.channel(channel.id),
                        defaults=current.describe(),
                        server=settings.defaults.describe(),
                    )
                ),
            )
            return
        new = change.applied_to(current)
        layers = [
            DefaultLayer(source="channel", defaults=new, place=channel.id),
            DefaultLayer(source="server", defaults=settings.defaults),
        ]
        problem = check_layers(interaction, layers)
        if problem is not None:
            raise InputError(
                _(
                    "Easel can't use these defaults in {channel}: {problem} Nothing was changed.",
                    channel=markup.channel(channel.id),
                    problem=problem,
                )
            )
        channels = {**settings.channel_defaults, channel.id: new}
        if new.empty:
            channels.pop(channel.id)
        await policy.update(guild_id, by=interaction.user.id, channel_defaults=channels)
        await answer_privately(
            interaction,
            tr(
                _(
                    "✅ {channel}'s defaults: {defaults} (over the server's: {server}). Members' "
                    "own defaults and typed options win.",
                    channel=markup.channel(channel.id),
                    defaults=new.describe(),
                    server=settings.defaults.describe(),
                )
            ),
        )


def defaults_field(bot: EaselBot, guild_id: int, tr: Lang) -> str:
    """The server's and channels' defaults, for ``/easel settings``."""
    settings = bot.policy.settings(guild_id)
    lines = [tr(_("Server: {defaults}", defaults=settings.defaults.describe()))]
    channels = sorted(settings.channel_defaults.items())
    lines += [
        f"{markup.channel(place)}: {tr.value(defaults.describe())}"
        for place, defaults in channels[:8]
    ]
    if len(channels) > 8:
        lines.append(
            tr(_n("and {count} more channel", "and {count} more channels", len(channels) - 8))
        )
    lines.append(tr(_("Members' own (`/settings`) and typed options win over these.")))
    return "\n".join(lines)
