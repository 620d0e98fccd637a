"""The error handler: every application command's error becomes one private answer.

Commands do not catch Easel's errors themselves; they let them propagate to the command tree,
whose error hook this extension installs (python-discord/bot's error-handler cog, RoboDanny's
``on_app_command_error``). Buttons, menus and modals report through the same ``report_error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from bot.ack_gate import ACK_GATE
from bot.client import Interaction
from cogs._answers import report_error

if TYPE_CHECKING:
    from bot.client import EaselBot


class ErrorHandler(commands.Cog):
    """Installs the tree's error hook while loaded."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot
        self._previous = bot.tree.on_error

    async def cog_load(self) -> None:
        """Route every application command error to ``report_error``."""
        self.bot.tree.error(self.on_app_command_error)

    async def cog_unload(self) -> None:
        """Give the tree its previous hook back."""
        self.bot.tree.error(self._previous)

    async def on_app_command_error(
        self, interaction: Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Tell the member what went wrong (a bug is logged with a reference)."""
        try:
            await report_error(interaction, error)
        finally:
            ACK_GATE.answered(interaction.id)  # the refusal was its answer


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(ErrorHandler(bot))
