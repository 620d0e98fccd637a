"""``/jobs`` and ``/show``: find past jobs and bring their results back, buttons included."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import NO_MENTIONS, Interaction
from bot.jobs.records import JobRecord, JobState
from cogs._answers import answer_privately
from cogs._buttons import result_view, upscale_possible
from cogs._policy import jump_url
from cogs._render import quote_prompt, result_embed

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

STATE_LABELS = {
    JobState.QUEUED: "⏳ queued",
    JobState.UPLOADING: "⏳ uploading",
    JobState.SUBMITTING: "⏳ submitting",
    JobState.SUBMITTED: "🎨 generating",
    JobState.DOWNLOADED: "📦 delivering",
    JobState.DELIVERED: "✅ done",
    JobState.FAILED: "❌ failed",
    JobState.CANCELLED: "✖️ cancelled",
}


def job_link(job: JobRecord) -> str | None:
    """A jump link to the job's message, when it has one in a server."""
    return jump_url(job.guild_id, job.channel_id, job.delivery.message_id if job.delivery else None)


def jobs_embed(jobs: list[JobRecord]) -> discord.Embed:
    """A member's recent jobs, one line each."""
    embed = discord.Embed(title="Your recent jobs", colour=discord.Colour.blurple())
    if not jobs:
        embed.description = "No jobs yet. Try `/imagine`."
        return embed
    lines = []
    for job in jobs:
        link = job_link(job)
        name = f"[`{job.id[:8]}`]({link})" if link else f"`{job.id[:8]}`"
        lines.append(
            f"{name} {STATE_LABELS[job.state]} <t:{int(job.created_at)}:R> — "
            f"{quote_prompt(job.request.prompt, 80)}"
        )
    embed.description = "\n".join(lines)
    embed.set_footer(text="/show <id> posts a job's images again, with their buttons.")
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
            embed=jobs_embed(jobs), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="show", description="Post a past job's images again, with buttons")
    @app_commands.describe(job_id="The job's id (the first 8 characters are enough)")
    async def show_command(self, interaction: Interaction, job_id: str) -> None:
        """Re-post a finished job from this server (or one of the member's own)."""
        job = await self.bot.engine.get_job(job_id.strip().lower())
        visible = job is not None and (
            job.user_id == interaction.user.id or job.guild_id == interaction.guild_id
        )
        if job is None or not visible:
            await answer_privately(
                interaction,
                f"No job `{discord.utils.escape_markdown(job_id[:40])}` here. `/jobs` lists yours.",
            )
            return
        if not job.results:
            await answer_privately(
                interaction, f"Job `{job.id[:8]}` has no images ({STATE_LABELS[job.state]})."
            )
            return
        await interaction.response.defer(thinking=True)
        try:
            images = await self.bot.engine.load_results(job)
        except FileNotFoundError:
            gone = f"Job `{job.id[:8]}`'s images are no longer stored."
            await answer_privately(interaction, gone)
            return
        embed = result_embed(
            job.resolved(),
            images,
            requester=f"<@{job.user_id}>",
            elapsed=(job.finished_at or job.created_at) - job.created_at,
            label=self.bot.engine.label_for(job),
        )
        files = [discord.File(io.BytesIO(image.data), filename=image.filename) for image in images]
        await interaction.followup.send(
            embed=embed,
            files=files,
            view=result_view(job, upscale_possible=upscale_possible(job, self.bot)),
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Jobs(bot))
