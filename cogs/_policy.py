"""Discord glue for the policy service: facts from an interaction, refusals, the moderation log.

The rules themselves live in ``bot.policy`` and never see a discord object; this module turns an
interaction into a ``JobContext`` and policy outcomes into ephemeral answers and log embeds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.client import NO_MENTIONS, Interaction
from bot.errors import PolicyRefusal
from bot.jobs.models import ResolvedRequest
from bot.jobs.records import JobAction, JobRecord
from bot.policy.models import JobContext
from bot.policy.records import AuditEntry
from bot.policy.rules import RULE_TITLES
from bot.text import visible_text
from cogs._render import quote_prompt, settings_line

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

LOG_PROMPT_CHARS = 1000
COLOUR_JOB = discord.Colour.green()
COLOUR_FAILED = discord.Colour.red()
COLOUR_REFUSED = discord.Colour.orange()
COLOUR_SETTINGS = discord.Colour.light_grey()

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


def audit_embed(entry: AuditEntry, job: JobRecord | None) -> discord.Embed:
    """One moderation-log line as an embed. Prompts are escaped and cut; mentions never ping."""
    if entry.event == "completed":
        title, colour = "🖼️ Job delivered", COLOUR_JOB
    elif entry.event == "failed" and entry.rule == "refusal":
        title, colour = "🛡️ Refused by the image service's safety system", COLOUR_FAILED
    elif entry.event == "failed":
        title, colour = f"❌ Job failed ({entry.rule or 'unknown'})", COLOUR_FAILED
    elif entry.event == "refused":
        rule = RULE_TITLES.get(entry.rule or "", entry.rule or "policy")
        title, colour = f"🚫 Refused: {rule}", COLOUR_REFUSED
    else:
        title, colour = "⚙️ Settings changed", COLOUR_SETTINGS
    embed = discord.Embed(title=title, colour=colour)
    if entry.prompt:
        embed.description = f"> {quote_prompt(entry.prompt, LOG_PROMPT_CHARS)}"
    if entry.user_id is not None:
        who = "By" if entry.event == "settings" else "Member"
        embed.add_field(name=who, value=f"<@{entry.user_id}> (`{entry.user_id}`)", inline=True)
    if entry.channel_id is not None:
        embed.add_field(name="Channel", value=f"<#{entry.channel_id}>", inline=True)
    if job is not None:
        embed.add_field(name="Settings", value=settings_line(job.resolved()), inline=False)
        message_id = job.delivery.message_id if job.delivery else None
        link = jump_url(job.guild_id, job.channel_id, message_id)
        if link is not None:
            embed.add_field(name="Result", value=f"[Open the job's message]({link})", inline=True)
        embed.set_footer(text=f"job {job.id[:8]}")
    if entry.detail:
        name = "Details (admins only)" if entry.event == "refused" else "Details"
        detail = discord.utils.escape_mentions(
            entry.detail  # a settings diff is ours; anything else may hold member text
            if entry.event == "settings"
            else discord.utils.escape_markdown(visible_text(entry.detail))
        )
        embed.add_field(name=name, value=detail[:1024], inline=False)
    embed.timestamp = discord.utils.utcnow()
    return embed


class ModerationLog:
    """Posts every audit entry of a server to its moderation log channel, in the background.

    Posting never delays a member's answer or result: each post is its own task, and a channel
    the bot cannot use is logged and skipped.
    """

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, entry: AuditEntry, job: JobRecord | None) -> None:
        """The policy service's audit listener."""
        channel_id = self.bot.policy.settings(entry.guild_id or None).moderation_channel
        if channel_id is None or entry.guild_id == 0:
            return
        task = asyncio.get_running_loop().create_task(
            self.post(channel_id, audit_embed(entry, job), entry.guild_id)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, channel_id: int, embed: discord.Embed, guild_id: int) -> None:
        """Send one embed to the log channel with mentions disabled."""
        channel = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
        try:
            await channel.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning(
                "guild %s: could not post to the moderation log channel %s (HTTP %s)",
                guild_id,
                channel_id,
                exc.status,
            )

    async def drain(self) -> None:
        """Wait for the posts in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
