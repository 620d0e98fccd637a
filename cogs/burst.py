"""Under a burst, a job command is acknowledged before Easel checks it.

Discord wants every interaction answered within 3 s, and the member sees "thinking…" only once it
is. When a few hundred members press at once, each waits for everything the bot does for the ones
before it; Easel's own checks (options, defaults, the server's rules, the job's record) cost
several times what discord.py spends on an interaction, so they would set the pace of the whole
burst. From ``AckGate.burst`` (eight) interactions awaiting their acknowledgement on, a job command
is therefore acknowledged first, privately, and checked once the burst is acknowledged (at most a
second later, ``AckGate``): a refusal is then told in that private message (nothing public is left
behind), and an accepted job gets its public message once it is recorded, exactly as a job with
images does (``cogs._run``). Below the threshold nothing changes: the job is checked first and its
"thinking…" is public at once.

Most of a burst is acknowledged straight from the gateway, before discord.py builds the
interaction (``bot.early_ack``); this check, the first of the command tree's, adopts those
acknowledgements and defers the rest of the burst's job commands itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from bot.ack_gate import ACK_GATE
from bot.client import Interaction
from bot.early_ack import is_job_command
from cogs._answers import defer_privately, deferred_privately_at_gateway

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

__all__ = ["AcknowledgeInBursts", "acknowledge_in_bursts", "acknowledges_first"]


def acknowledges_first(interaction: Interaction) -> bool:
    """Whether this interaction is a job's slash command arriving in a burst."""
    if interaction.type is not discord.InteractionType.application_command:
        return False  # autocomplete and components answer differently
    payload: Mapping[str, Any] = {
        "type": interaction.type.value,
        "guild_id": interaction.guild_id,
        "data": interaction.data or {},
    }
    return (
        is_job_command(payload)
        and not interaction.response.is_done()
        and ACK_GATE.pending >= ACK_GATE.burst
    )


async def acknowledge_in_bursts(interaction: Interaction) -> bool:
    """The tree check (the first to run): in a burst, defer a job command privately now."""
    if interaction.client.early_acks.take(interaction.id):
        deferred_privately_at_gateway(interaction)  # and the burst is acknowledged already
        return True
    if not acknowledges_first(interaction):
        return True
    try:
        async with ACK_GATE.acknowledging(interaction.id):
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
        """Check before every other tree check (they cost more than the defer), and adopt the
        acknowledgements the gateway sends early."""
        self.bot.tree.checks.insert(0, acknowledge_in_bursts)
        self.bot.early_acks.enable()

    async def cog_unload(self) -> None:
        """Stop (what the gateway acknowledged early goes to discord.py now, still adopted)."""
        self.bot.early_acks.disable()
        if acknowledge_in_bursts in self.bot.tree.checks:
            self.bot.tree.checks.remove(acknowledge_in_bursts)

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: Interaction, _command: object) -> None:
        """A command that ran to its end has answered: it no longer awaits an acknowledgement."""
        ACK_GATE.answered(interaction.id)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(AcknowledgeInBursts(bot))
