"""Turn job state into embeds. Pure functions: no I/O, easy to test, one look everywhere."""

from __future__ import annotations

import discord

from bot.jobs.models import (
    JobDownloading,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
    JobSubmitted,
    JobUploading,
    JobWaiting,
    ResolvedRequest,
    ResultImage,
)
from bot.text import visible_text

COLOUR_WORKING = discord.Colour.blurple()
COLOUR_DONE = discord.Colour.green()
COLOUR_FAILED = discord.Colour.red()
PROMPT_PREVIEW_CHARS = 300
PROMPT_FULL_CHARS = 1500
BAR_CELLS = 12


def quote_prompt(prompt: str, limit: int = PROMPT_PREVIEW_CHARS) -> str:
    """The prompt as safe display text: markdown and mentions neutralised, cut at a word.

    Also direction overrides and invisible characters (``bot.text.visible_text``): prompts are
    cleaned when accepted, but a job stored before that, or a text from elsewhere, may not be,
    and an override would also turn the rest of the message around.
    """
    text = " ".join(visible_text(prompt).split())
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        text = cut.rstrip(" ,.;:") + "…"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def progress_bar(percent: int) -> str:
    """A text bar like ``▰▰▰▱▱▱ 50%``."""
    percent = max(0, min(100, percent))
    filled = round(BAR_CELLS * percent / 100)
    return "▰" * filled + "▱" * (BAR_CELLS - filled) + f" {percent}%"


def settings_line(resolved: ResolvedRequest) -> str:
    """The options as one compact line, e.g. ``16:9 · 2K (2048×1152) · ×2 · png``."""
    request = resolved.request
    parts = [
        str(request.ratio),
        f"{resolved.resolution} ({resolved.width}×{resolved.height})",
        f"×{request.n}",
        str(request.output_format),
    ]
    if request.quality:
        parts.append(f"{request.quality} quality")
    if request.compression is not None:
        parts.append(f"compression {request.compression}")
    if request.references:
        parts.append(f"{len(request.references)} reference image(s)")
    return " · ".join(parts)


def status_text(event: JobEvent | None) -> tuple[str, int]:
    """What the job is doing, and how far along (percent), for a progress event."""
    if event is None:
        return "Starting", 0
    if isinstance(event, JobQueued):
        where = f" (position {event.position})" if event.position else ""
        return f"Waiting in the queue{where}", 0
    if isinstance(event, JobUploading):
        return f"Uploading reference images {event.done}/{event.total}", 0
    if isinstance(event, JobWaiting):
        return "The image service is not answering; trying again shortly", 0
    if isinstance(event, JobSubmitted):
        return "Submitted, waiting for the image service", 0
    if isinstance(event, JobProgress):
        return "Generating", event.percent
    if isinstance(event, JobDownloading):
        return "Finishing: downloading the images", 100
    return "Working", 0


def progress_embed(
    resolved: ResolvedRequest,
    event: JobEvent | None,
    *,
    started_at: int,
    label: str,
    preview: str | None = None,
    defaults: str | None = None,
) -> discord.Embed:
    """The live progress message. Elapsed time is a Discord timestamp, so it ticks for free.

    ``preview`` names an attachment holding the latest streamed partial image; it is shown
    small and labelled as a preview, because it is not the result. ``defaults`` says which
    options came from defaults, and from where (``bot.policy.defaults.applied_text``).
    """
    status, percent = status_text(event)
    embed = discord.Embed(
        title=f"🎨 {status}…",
        description=f"> {quote_prompt(resolved.request.prompt)}",
        colour=COLOUR_WORKING,
    )
    embed.add_field(name="Progress", value=f"`{progress_bar(percent)}`", inline=False)
    embed.add_field(name="Started", value=f"<t:{started_at}:R>", inline=True)
    embed.add_field(name="Settings", value=settings_line(resolved), inline=True)
    if defaults:
        embed.add_field(name="Defaults used", value=defaults[:1024], inline=False)
    if preview is not None:
        embed.add_field(name="Preview", value="A rough frame while it draws.", inline=False)
        embed.set_image(url=f"attachment://{preview}")
    embed.set_footer(text=label)
    return embed


def result_embed(
    resolved: ResolvedRequest,
    images: tuple[ResultImage, ...],
    *,
    requester: str,
    elapsed: float,
    label: str,
    defaults: str | None = None,
    missing: int = 0,
    shortfall: str | None = None,
) -> discord.Embed:
    """The caption posted with the finished images (``defaults``: as on the progress; when some
    failed, how many and why)."""
    count = len(images)
    ready = f"{count} of {count + missing}" if missing else str(count)
    embed = discord.Embed(
        title=f"✅ {ready} image{'s' if count + missing != 1 else ''} ready",
        description=f"> {quote_prompt(resolved.request.prompt, PROMPT_FULL_CHARS)}",
        colour=COLOUR_DONE,
    )
    if shortfall:
        embed.add_field(
            name="⚠️ Not every image came",
            value=f"{shortfall[:900]}\nOnly the images delivered count toward your limits.",
            inline=False,
        )
    embed.add_field(name="Settings", value=settings_line(resolved), inline=False)
    if defaults:
        embed.add_field(name="Defaults used", value=defaults[:1024], inline=False)
    embed.add_field(name="Requested by", value=requester, inline=True)
    embed.add_field(name="Took", value=f"{elapsed:.0f}s", inline=True)
    notes = [f"`{image.filename}`: {image.note}" for image in images if image.note]
    if notes:
        embed.add_field(name="Files", value="\n".join(notes)[:1024], inline=False)
    embed.set_footer(text=label)
    return embed


def failure_embed(resolved: ResolvedRequest, failure: JobFailed, *, label: str) -> discord.Embed:
    """A job that ended without images: say why and what to do."""
    titles = {
        "refusal": "🚫 Refused",
        "input": "⚠️ Can't use that input",
        "timeout": "⏱️ Timed out",
        "cancelled": "✖️ Cancelled",
        "upstream": "❌ The image service failed",
        "internal": "❌ Something went wrong",
        "interrupted": "🔁 Interrupted by a restart",
        "undeliverable": "📭 Could not be posted",
    }
    embed = discord.Embed(
        title=titles[failure.failure],
        description=f"> {quote_prompt(resolved.request.prompt)}\n\n{failure.reason}",
        colour=COLOUR_FAILED,
    )
    if failure.task_id:
        embed.add_field(name="Task", value=f"`{failure.task_id}`", inline=True)
    embed.set_footer(text=label)
    return embed
