"""Discord glue for the policy service: the facts the rules need, read from an interaction.

The rules themselves live in ``bot.policy`` and never see a discord object; this module turns an
interaction into a ``JobContext``, for a new job or for showing and reusing a stored one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.client import Interaction
from bot.jobs import costs
from bot.jobs.models import ResolvedRequest
from bot.jobs.records import JobAction, JobRecord
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


def place_context(interaction: Interaction, *, command: str) -> JobContext:
    """Where and who: the facts every rule needs, for ``command`` (no request details)."""
    channel = interaction.channel
    parent_id: int | None = None
    category_id: int | None = None
    if isinstance(channel, discord.Thread):
        parent_id = channel.parent_id
        parent = channel.parent
        category_id = parent.category_id if parent is not None else None
    elif channel is not None:
        category_id = getattr(channel, "category_id", None)
    return JobContext(
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        user_id=interaction.user.id,
        command=command,
        parent_channel_id=parent_id,
        category_id=category_id,
        in_thread=isinstance(channel, discord.Thread),
        channel_nsfw=is_nsfw(channel),
        role_ids=member_role_ids(interaction),
        is_admin=is_admin(interaction),
    )


def job_context(
    interaction: Interaction,
    resolved: ResolvedRequest,
    *,
    kind: str = "imagine",
    action: JobAction | None = None,
) -> JobContext:
    """What the rules need to know about this request, its estimated cost included (budgets)."""
    place = place_context(interaction, command="edit" if action == "edit" else kind)
    request = resolved.request
    spec = interaction.client.engine.spec  # every job goes to the primary provider first
    return place.model_copy(
        update={
            "prompt": request.prompt,
            "n": request.n,
            "resolution": resolved.resolution,
            "cost": costs.estimate(resolved, spec),
            "image_cost": costs.per_image(resolved, spec),
        }
    )


def is_nsfw(channel: object) -> bool:
    """Whether ``channel`` is age-restricted (a thread follows its parent)."""
    return isinstance(channel, _NSFW_CAPABLE) and channel.is_nsfw()


async def ensure_reusable(interaction: Interaction, job: JobRecord, *, command: str) -> None:
    """Raise the refusal unless this member may show or reuse ``job`` here, now.

    The one check for every path that re-posts or reuses a stored job: ``/show``, the result
    buttons and menus (Retry included), and Edit image on one of Easel's results. ``command``
    is what the member is doing: the job's own command for ``/show``, the new job's otherwise.
    """
    bot = interaction.client
    made_in = bot.get_channel(job.channel_id) if job.channel_id is not None else None
    ctx = place_context(interaction, command=command)
    await bot.policy.vet_reuse(ctx, job, made_in_nsfw=is_nsfw(made_in))


def jump_url(guild_id: int | None, channel_id: int | None, message_id: int | None) -> str | None:
    """A link to a message (None when any part is unknown)."""
    if guild_id is None or channel_id is None or message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
