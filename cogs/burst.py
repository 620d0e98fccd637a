"""Under a burst, a job command is acknowledged before Easel checks it.

Discord wants every interaction answered within 3 s, and the member sees "thinking…" only once
it is. When a few hundred members press at once, each waits for everything the bot does for the
ones before it; Easel's own checks (options, defaults, the server's rules, the job's record)
cost several times what discord.py spends on an interaction, so they would set the pace of the
whole burst. From ``BURST`` interactions awaiting their acknowledgement on, a job command is
therefore acknowledged first, privately, and checked once the burst is acknowledged (at most
a second later, ``AckGate``): a refusal is then told in that
private message (nothing public is left behind), and an accepted job gets its public message
once it is recorded, exactly as a job with images does (``cogs._run``). Below the threshold
nothing changes: the job is checked first and its "thinking…" is public at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from bot.client import Interaction
from bot.policy.models import JobCommand
from cogs._answers import defer_privately
from cogs._run import ACK_GATE

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

#: Interactions awaiting their acknowledgement from which job commands are acknowledged first.
#: The first few of a burst are answered as usual; a single member never notices the rule.
BURST = 8
_JOB_COMMANDS = frozenset(JobCommand)
_CHAT_INPUT = 1  # the application command type of a slash command


def acknowledges_first(interaction: Interaction) -> bool:
    """Whether this interaction is a job's slash command arriving in a burst."""
    if interaction.type is not discord.InteractionType.application_command:
        return False  # autocomplete and components answer differently
    data: Mapping[str, Any] = interaction.data or {}
    return (
        data.get("type", _CHAT_INPUT) == _CHAT_INPUT
        and data.get("name") in _JOB_COMMANDS
        and not interaction.response.is_done()
        and ACK_GATE.pending >= BURST
    )


async def acknowledge_in_bursts(interaction: Interaction) -> bool:
    """The tree check (the first to run): in a burst, defer a job command privately now."""
    if not acknowledges_first(interaction):
        return True
    try:
        async with ACK_GATE.acknowledging():
            await defer_privately(interaction)
    except discord.NotFound:
        raise  # 10062: Discord no longer knows the interaction; nothing was accepted
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        # Not acknowledged (or not known to be): the command defers as usual.
        log.warning("interaction %s: the early defer failed (%r)", interaction.id, exc)
        return True
    await ACK_GATE.wait_until_quiet()  # checking it can wait for the others' acknowledgements
    return True


class AcknowledgeInBursts(commands.Cog):
    """Puts the burst rule first among the command tree's checks while loaded."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Check before every other tree check (they cost more than the defer)."""
        self.bot.tree.checks.insert(0, acknowledge_in_bursts)

    async def cog_unload(self) -> None:
        """Stop."""
        if acknowledge_in_bursts in self.bot.tree.checks:
            self.bot.tree.checks.remove(acknowledge_in_bursts)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(AcknowledgeInBursts(bot))
