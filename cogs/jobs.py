"""``/jobs`` and ``/show``: find past jobs and bring their results back, buttons included."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Range
from discord.ext import commands

from bot.client import NO_MENTIONS, Interaction
from bot.errors import InputError
from bot.i18n import Lang, _
from bot.jobs.records import JobRecord, JobState
from bot.policy.models import job_command
from bot.policy.rules import no_such_job
from cogs._answers import defer_privately, post_publicly
from cogs._buttons import result_view, upscale_possible
from cogs._i18n import lang_for
from cogs._policy import ensure_reusable, jump_url
from cogs._render import quote_prompt, result_embed

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

MIN_ID_CHARS = 8  # as shown in /jobs and the moderation log
MAX_ID_CHARS = 32  # a whole id

STATE_LABELS = {
    JobState.RECEIVING: ("⏳", _("receiving the images")),
    JobState.QUEUED: ("⏳", _("queued")),
    JobState.UPLOADING: ("⏳", _("uploading")),
    JobState.SUBMITTING: ("⏳", _("submitting")),
    JobState.SUBMITTED: ("🎨", _("generating")),
    JobState.DOWNLOADED: ("📦", _("delivering")),
    JobState.DELIVERED: ("✅", _("done")),
    JobState.FAILED: ("❌", _("failed")),
    JobState.CANCELLED: ("✖️", _("cancelled")),
}


def state_label(job: JobRecord, tr: Lang) -> str:
    """A job's state as the member reads it, e.g. "✅ done" (or "🗑️ deleted")."""
    if job.deleted:
        deleted = tr(_("deleted"))
        return f"🗑️ {deleted}"
    if job.failure_kind == "undeliverable":
        undeliverable = tr(_("made, could not be posted (/show posts it)"))
        return f"📭 {undeliverable}"
    emoji, word = STATE_LABELS[job.state]
    return f"{emoji} {tr(word)}"


def job_link(job: JobRecord) -> str | None:
    """A jump link to the job's message, when it has one in a server (a deleted one has not)."""
    if job.deleted:
        return None
    return jump_url(job.guild_id, job.channel_id, job.delivery.message_id if job.delivery else None)


def jobs_embed(jobs: list[JobRecord], tr: Lang) -> discord.Embed:
    """A member's recent jobs, one line each."""
    embed = discord.Embed(title=tr(_("Your recent jobs")), colour=discord.Colour.blurple())
    if not jobs:
        embed.description = tr(_("No jobs yet. Try `/imagine`."))
        return embed
    lines = []
    for job in jobs:
        link = job_link(job)
        name = f"[`{job.id[:8]}`]({link})" if link else f"`{job.id[:8]}`"
        state = state_label(job, tr)
        lines.append(
            f"{name} {state} <t:{int(job.created_at)}:R> — {quote_prompt(job.request.prompt, 80)}"
        )
    embed.description = "\n".join(lines)
    embed.set_footer(text=tr(_("/show <id> posts a job's images again, with their buttons.")))
    return embed


class Jobs(commands.Cog):
    """Past jobs."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="jobs", description="List your recent image jobs")
    async def jobs_command(self, interaction: Interaction) -> None:
        """Show the member's last ten jobs, privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        jobs = await self.bot.engine.recent_jobs(
            interaction.user.id, guild_id=interaction.guild_id, limit=10
        )
        await interaction.followup.send(
            embed=jobs_embed(jobs, lang_for(interaction)),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="show", description="Post a past job's images again, with buttons")
    @app_commands.describe(job_id="The job's id (the first 8 characters are enough)")
    async def show_command(
        self, interaction: Interaction, job_id: Range[str, MIN_ID_CHARS, MAX_ID_CHARS]
    ) -> None:
        """Re-post a finished job's images where the server's rules allow it now.

        ``/show`` obeys the rules of a new job of the command that made it (``ensure_reusable``):
        a refusal, a deleted result and a job that is not this member's to see are answered
        privately, and the images are read before anything public appears.
        """
        tr = lang_for(interaction)
        job = await self.bot.engine.get_job(job_id.strip().lower())
        if job is None:
            raise no_such_job()
        await ensure_reusable(interaction, job, command=job_command(job))
        if not job.results:
            state = state_label(job, tr)
            raise InputError(_("Job `{job}` has no images ({state}).", job=job.id[:8], state=state))
        await defer_privately(interaction)
        try:
            images = await self.bot.engine.load_results(job)
        except FileNotFoundError:
            gone = _("Job `{job}`'s images are no longer stored.", job=job.id[:8])
            raise InputError(gone) from None
        embed = result_embed(
            job.resolved(),
            images,
            requester=f"<@{job.user_id}>",
            elapsed=(job.finished_at or job.created_at) - job.created_at,
            label=self.bot.engine.label_for(job),
            tr=tr,
        )
        spoiler = self.bot.policy.spoilers(interaction.guild_id)  # the rule where it is shown
        files = [
            discord.File(io.BytesIO(image.data), filename=image.filename, spoiler=spoiler)
            for image in images
        ]
        await post_publicly(
            interaction,
            embed=embed,
            files=files,
            view=result_view(job, tr, upscale_possible=upscale_possible(job, self.bot)),
        )


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Jobs(bot))
