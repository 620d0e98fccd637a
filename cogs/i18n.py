"""Languages: installs the command Translator, so every sync carries the localized commands.

The catalogs are compiled when the Translator loads (off the event loop), before the tree is
synced and before the first member is answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from cogs._i18n import EaselTranslator

if TYPE_CHECKING:
    from bot.client import EaselBot


class Languages(commands.Cog):
    """Holds the tree's Translator while loaded."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Localize the commands from now on (the sync after loading sends them)."""
        await self.bot.tree.set_translator(EaselTranslator())

    async def cog_unload(self) -> None:
        """Back to English-only commands."""
        await self.bot.tree.set_translator(None)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Languages(bot))
