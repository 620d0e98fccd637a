"""Discord glue for the policy service: the facts the rules need, read from an interaction.

The rules themselves live in ``bot.policy`` and never see a discord object; this module turns an
interaction into a ``JobContext`` (and a button press into the "who may press" check).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.client import Interaction
from bot.errors import PolicyRefusal
from bot.jobs.models import ResolvedRequest
from bot.jobs.records import JobAction
from bot.policy.models import JobContext

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_NSFW_CAPABLE = (
    discord.TextChannel,
    discord.Thread,
    discord.VoiceChannel,
    discord.StageChannel,
    discord.ForumChannel,
)


def is_admin(interaction: Interaction) -> bool:
    """Manage Server (or Administrator) in this server, from the permissions Discord sent."""
    if interaction.guild_id is None:
        return False
    permissions = interaction.permissions
    return permissions.manage_guild or permissions.administrator


def member_role_ids(interaction: Interaction) -> frozenset[int]:
    """The member's role ids; read from the interaction, so no member cache is needed."""
    user = interaction.user
    if not isinstance(user, discord.Member):
        return frozenset()
    # ``Member.roles`` drops roles missing from the guild cache; ``_roles`` is what Discord sent.
    return frozenset(user._roles)


def job_context(
    interaction: Interaction,
    resolved: ResolvedRequest,
    *,
    kind: str = "imagine",
    action: JobAction | None = None,
) -> JobContext:
    """What the rules need to know about this request."""
    channel = interaction.channel
    in_thread = isinstance(channel, discord.Thread)
    parent_id: int | None = None
    category_id: int | None = None
    if isinstance(channel, discord.Thread):
        parent_id = channel.parent_id
        parent = channel.parent
        category_id = parent.category_id if parent is not None else None
    elif channel is not None:
        category_id = getattr(channel, "category_id", None)
    nsfw = isinstance(channel, _NSFW_CAPABLE) and channel.is_nsfw()
    return JobContext(
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        user_id=interaction.user.id,
        command="edit" if action == "edit" else kind,
        prompt=resolved.request.prompt,
        n=resolved.request.n,
        resolution=resolved.resolution,
        parent_channel_id=parent_id,
        category_id=category_id,
        in_thread=in_thread,
        channel_nsfw=nsfw,
        role_ids=member_role_ids(interaction),
        is_admin=is_admin(interaction),
    )


def button_press_refusal(
    interaction: Interaction, requester_id: int | None
) -> PolicyRefusal | None:
    """None if this member may press the buttons on ``requester_id``'s result; else why not.

    Follows the server's "who may press result buttons" setting.
    """
    return interaction.client.policy.button_refusal(
        interaction.guild_id,
        requester_id=requester_id,
        presser_id=interaction.user.id,
        presser_is_admin=is_admin(interaction),
    )


def jump_url(guild_id: int | None, channel_id: int | None, message_id: int | None) -> str | None:
    """A link to a message (None when any part is unknown)."""
    if guild_id is None or channel_id is None or message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
