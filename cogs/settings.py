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
from discord.app_commands import Range
from discord.ext import commands

from bot.client import Interaction
from bot.errors import InputError
from bot.policy.defaults import JobDefaults
from cogs._admin_defaults import CHOICES, OPTION_HELP, changed, parse_defaults
from cogs._answers import answer_privately
from cogs._defaults import check_layers, effective_text, layers_for

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

COLOUR = discord.Colour.blurple()


def settings_embed(interaction: Interaction, own: JobDefaults, *, saved: bool) -> discord.Embed:
    """A member's defaults, the server's and the channel's, and what a bare /imagine makes."""
    assert interaction.guild_id is not None
    settings = interaction.client.policy.settings(interaction.guild_id)
    embed = discord.Embed(
        title="✅ Your defaults are saved" if saved else "Your Easel defaults", colour=COLOUR
    )
    embed.add_field(name="Yours (in this server)", value=own.describe(), inline=False)
    channel = [
        f"<#{layer.place}>: {layer.defaults.describe()}"
        for layer in layers_for(interaction, member=JobDefaults())
        if layer.source == "channel"
    ]
    embed.add_field(
        name="Set by the admins",
        value="\n".join([f"Server: {settings.defaults.describe()}", *channel]),
        inline=False,
    )
    embed.add_field(
        name="Here, `/imagine` with only a prompt makes", value=effective_text(interaction)[:1024]
    )
    embed.set_footer(text="Options you type in a command always win. Only you see this.")
    return embed


class MemberSettings(commands.Cog):
    """A member's own defaults."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings", description="Your own defaults for image options")
    @app_commands.guild_only()
    @app_commands.rename(output_format="format")
    @app_commands.describe(
        ratio="Your aspect ratio for /imagine (no default: the channel's or server's, else 1:1)",
        resolution=OPTION_HELP["resolution"],
        quality=OPTION_HELP["quality"],
        output_format=OPTION_HELP["output_format"],
        n="Images per job (0: no default of your own)",
        reset="Clear all your defaults first",
    )
    @app_commands.choices(**CHOICES)
    async def settings_command(
        self,
        interaction: Interaction,
        ratio: str | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        output_format: str | None = None,
        n: Range[int, 0, 10] | None = None,
        reset: bool = False,
    ) -> None:
        """Show your defaults, or change them (options left out stay as they are)."""
        guild_id = interaction.guild_id
        if guild_id is None:
            await answer_privately(interaction, "Defaults are per server: use `/settings` in one.")
            return
        preferences = self.bot.policy.preferences
        current = preferences.of(guild_id, interaction.user.id)
        given, cleared = parse_defaults(
            ratio=ratio, resolution=resolution, quality=quality, output_format=output_format, n=n
        )
        if not given and not cleared and not reset:
            await answer_privately(
                interaction, embed=settings_embed(interaction, current, saved=False)
            )
            return
        new = changed(JobDefaults() if reset else current, given, cleared)
        problem = check_layers(interaction, layers_for(interaction, member=new))
        if problem is not None:
            raise InputError(f"Easel can't use these defaults here: {problem} Nothing was changed.")
        await preferences.save(guild_id, interaction.user.id, new)
        log.info("user %s in guild %s set their defaults", interaction.user.id, guild_id)
        await answer_privately(interaction, embed=settings_embed(interaction, new, saved=True))


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(MemberSettings(bot))
