"""``/settings``: a member's own defaults for the image options, in this server (private).

They win over the channel's and the server's defaults (``/easel defaults``); an option typed in a
command wins over all. Defaults the image service or the server's rules would refuse are
refused here, with the reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import Lang, _, markup
from bot.policy.defaults import JobDefaults
from cogs._admin_defaults import DefaultsChange, defaults_options
from cogs._answers import answer_privately, server_of
from cogs._defaults import check_layers, effective_text, layers_for
from cogs._i18n import lang_for

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

COLOUR = discord.Colour.blurple()


def settings_embed(
    interaction: Interaction, own: JobDefaults, tr: Lang, *, saved: bool
) -> discord.Embed:
    """A member's defaults, the server's and the channel's, and what a bare /imagine makes."""
    assert interaction.guild_id is not None
    settings = interaction.client.policy.settings(interaction.guild_id)
    title = _("✅ Your defaults are saved") if saved else _("Your Easel defaults")
    embed = discord.Embed(title=tr(title), colour=COLOUR)
    embed.add_field(
        name=tr(_("Yours (in this server)")), value=tr.value(own.describe()), inline=False
    )
    channel = [
        f"{markup.channel(layer.place)}: {tr.value(layer.defaults.describe())}"
        for layer in layers_for(interaction, member=JobDefaults())
        if layer.source == "channel" and layer.place is not None
    ]
    server = tr(_("Server: {defaults}", defaults=settings.defaults.describe()))
    embed.add_field(
        name=tr(_("Set by the admins")), value="\n".join([server, *channel]), inline=False
    )
    embed.add_field(
        name=tr(_("Here, `/imagine` with only a prompt makes")),
        value=effective_text(interaction, tr)[:1024],
    )
    embed.set_footer(text=tr(_("Options you type in a command always win. Only you see this.")))
    return embed


class MemberSettings(commands.Cog):
    """A member's own defaults."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings", description="Your own defaults for image options")
    @app_commands.guild_only()
    @app_commands.describe(
        ratio="Your aspect ratio for /imagine (no default: the channel's or server's, else 1:1)",
        n="Images per job (0: no default of your own)",
        reset="Clear all your defaults first",
    )
    @defaults_options
    async def settings_command(self, interaction: Interaction, *, change: DefaultsChange) -> None:
        """Show your defaults, or change them (options left out stay as they are)."""
        guild_id = server_of(interaction, _("Defaults are per server: use `/settings` in one."))
        tr = lang_for(interaction)
        preferences = self.bot.policy.preferences
        current = preferences.of(guild_id, interaction.user.id)
        if change.empty:
            await answer_privately(
                interaction, embed=settings_embed(interaction, current, tr, saved=False)
            )
            return
        new = change.applied_to(current)
        problem = check_layers(interaction, layers_for(interaction, member=new))
        if problem is not None:
            raise InputError(
                _(
                    "Easel can't use these defaults here: {problem} Nothing was changed.",
                    problem=problem,
                )
            )
        await preferences.save(guild_id, interaction.user.id, new)
        log.info("user %s in guild %s set their defaults", interaction.user.id, guild_id)
        await answer_privately(interaction, embed=settings_embed(interaction, new, tr, saved=True))


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(MemberSettings(bot))
