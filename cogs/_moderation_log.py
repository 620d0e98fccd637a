"""The moderation log: every audit entry of a server, posted as an embed to its log channel.

The policy service calls ``ModerationLog`` with each new entry (the delivery extension subscribes
it); prompts are escaped and cut, and mentions never ping. It is written in the server's language
(``/easel language``, else the server's preferred locale): its readers are the server's staff.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.client import NO_MENTIONS
from bot.i18n import Lang, _
from bot.jobs.records import JobRecord
from bot.policy.records import AuditEntry
from bot.policy.rules import rule_title
from bot.text import visible_text
from cogs._i18n import lang_for_server
from cogs._policy import jump_url
from cogs._render import failure_name, quote_prompt, settings_line

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

LOG_PROMPT_CHARS = 1000
COLOUR_JOB = discord.Colour.green()
COLOUR_FAILED = discord.Colour.red()
COLOUR_REFUSED = discord.Colour.orange()
COLOUR_SETTINGS = discord.Colour.light_grey()


def audit_embed(entry: AuditEntry, job: JobRecord | None, tr: Lang) -> discord.Embed:
    """One moderation-log line as an embed. Prompts are escaped and cut; mentions never ping."""
    if entry.event == "completed":
        emoji, title, colour = "🖼️", _("Job delivered"), COLOUR_JOB
    elif entry.event == "failed" and entry.rule == "refusal":
        emoji, colour = "🛡️", COLOUR_FAILED
        title = _("Refused by the image service's safety system")
    elif entry.event == "failed":
        emoji, colour = "❌", COLOUR_FAILED
        title = _("Job failed ({kind})", kind=failure_name(entry.rule))
    elif entry.event == "refused":
        emoji, colour = "🚫", COLOUR_REFUSED
        title = _("Refused: {rule}", rule=rule_title(entry.rule))
    else:
        emoji, title, colour = "⚙️", _("Settings changed"), COLOUR_SETTINGS
    embed = discord.Embed(title=f"{emoji} {tr(title)}", colour=colour)
    if entry.prompt:
        embed.description = f"> {quote_prompt(entry.prompt, LOG_PROMPT_CHARS)}"
    if entry.user_id is not None:
        who = tr(_("By")) if entry.event == "settings" else tr(_("Member"))
        embed.add_field(name=who, value=f"<@{entry.user_id}> (`{entry.user_id}`)", inline=True)
    if entry.channel_id is not None:
        embed.add_field(name=tr(_("Channel")), value=f"<#{entry.channel_id}>", inline=True)
    if job is not None:
        embed.add_field(
            name=tr(_("Settings")), value=settings_line(job.resolved(), tr), inline=False
        )
        message_id = job.delivery.message_id if job.delivery else None
        link = jump_url(job.guild_id, job.channel_id, message_id)
        if link is not None:
            open_it = tr(_("Open the job's message"))
            embed.add_field(name=tr(_("Result")), value=f"[{open_it}]({link})", inline=True)
        embed.set_footer(text=tr(_("job {job}", job=job.id[:8])))
    shown = tr(entry.detail_text) if entry.detail_text is not None else entry.detail
    if shown:
        name = tr(_("Details (admins only)")) if entry.event == "refused" else tr(_("Details"))
        detail = discord.utils.escape_mentions(
            shown  # a settings diff is ours; anything else may hold member text
            if entry.event == "settings"
            else discord.utils.escape_markdown(visible_text(shown))
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
        tr = lang_for_server(self.bot, entry.guild_id)
        task = asyncio.get_running_loop().create_task(
            self.post(channel_id, audit_embed(entry, job, tr), entry.guild_id)
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
