"""Discord's side of the engine: job messages, result buttons and the moderation log.

The engine and the policy service know nothing of Discord; this extension plugs Discord into
them when it loads: the observer that renders every Discord job's events into its message, the
reader of members' attachments for jobs that were recorded before reading them, the listener
that posts audit entries to a server's moderation log channel, and the buttons and menus that
keep working after a restart (they are found again by their custom ids).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from cogs._buttons import DYNAMIC_ITEMS
from cogs._delivery import DiscordDelivery
from cogs._moderation_log import ModerationLog
from cogs._run import ACCEPTING, DiscordAttachments

if TYPE_CHECKING:
    from bot.client import EaselBot


class Delivery(commands.Cog):
    """Registers Discord's observer, audit listener and dynamic items while loaded."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot
        self.renderer = DiscordDelivery(bot)
        self.moderation_log = ModerationLog(bot)

    async def cog_load(self) -> None:
        """Plug in before the bot resumes jobs, so resumed jobs are rendered too."""
        self.bot.engine.observe("discord", self.renderer)
        self.bot.engine.read_inputs_with("discord", DiscordAttachments(self.bot))
        self.bot.policy.subscribe(self.moderation_log)
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        """Unplug what can be (the engine keeps its last observer for jobs still running).

        Runs first when the bot closes, while Discord's connection is still open: jobs being
        accepted settle (or are cancelled, recorded, to resume at the next start).
        """
        await ACCEPTING.settle()
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.policy.unsubscribe(self.moderation_log)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Delivery(bot))
