"""Job state as embeds in the reader's language. Pure functions: no I/O, one look everywhere."""

from __future__ import annotations

import discord

from bot.i18n import Lang, Text, _, _n, literal
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
from bot.policy.defaults import QUALITY_NAMES
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


def settings_line(resolved: ResolvedRequest, tr: Lang) -> str:
    """The options as one compact line, e.g. ``16:9 · 2K (2048×1152) · ×2 · png``."""
    request = resolved.request
    parts = [
        str(request.ratio),
        f"{resolved.resolution} ({resolved.width}×{resolved.height})",
        f"×{request.n}",
        str(request.output_format),
    ]
    if request.quality:
        parts.append(tr(QUALITY_NAMES[request.quality]))
    if request.compression is not None:
        parts.append(tr(_("compression {value}", value=request.compression)))
    if request.references:
        parts.append(
            tr(
                _n(
                    "{count} reference image",
                    "{count} reference images",
                    len(request.references),
                )
            )
        )
    return " · ".join(parts)


def status_text(event: JobEvent | None) -> tuple[Text, int]:
    """What the job is doing, and how far along (percent), for a progress event."""
    if event is None:
        return _("Starting"), 0
    if isinstance(event, JobQueued):
        if event.position:
            return _("Waiting in the queue (position {position})", position=event.position), 0
        return _("Waiting in the queue"), 0
    if isinstance(event, JobUploading):
        return (
            _("Uploading reference images {done}/{total}", done=event.done, total=event.total),
            0,
        )
    if isinstance(event, JobWaiting):
        return _("The image service is not answering; trying again shortly"), 0
    if isinstance(event, JobSubmitted):
        return _("Submitted, waiting for the image service"), 0
    if isinstance(event, JobProgress):
        return _("Generating"), event.percent
    if isinstance(event, JobDownloading):
        return _("Finishing: downloading the images"), 100
    return _("Working"), 0


def progress_embed(
    resolved: ResolvedRequest,
    event: JobEvent | None,
    *,
    started_at: int,
    label: Text,
    tr: Lang,
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
        title=f"🎨 {tr(status)}…",
        description=f"> {quote_prompt(resolved.request.prompt)}",
        colour=COLOUR_WORKING,
    )
    embed.add_field(name=tr(_("Progress")), value=f"`{progress_bar(percent)}`", inline=False)
    embed.add_field(name=tr(_("Started")), value=f"<t:{started_at}:R>", inline=True)
    embed.add_field(name=tr(_("Settings")), value=settings_line(resolved, tr), inline=True)
    if defaults:
        embed.add_field(name=tr(_("Defaults used")), value=defaults[:1024], inline=False)
    if preview is not None:
        embed.add_field(
            name=tr(_("Preview")), value=tr(_("A rough frame while it draws.")), inline=False
        )
        embed.set_image(url=f"attachment://{preview}")
    embed.set_footer(text=tr(label))
    return embed


def result_embed(
    resolved: ResolvedRequest,
    images: tuple[ResultImage, ...],
    *,
    requester: str,
    elapsed: float,
    label: Text,
    tr: Lang,
    defaults: str | None = None,
    missing: int = 0,
    shortfall: Text | None = None,
) -> discord.Embed:
    """The caption posted with the finished images (``defaults``: as on the progress; when some
    failed, how many and why)."""
    count = len(images)
    ready = (
        _n(
            "{ready} of {count} image ready",
            "{ready} of {count} images ready",
            count + missing,
            ready=count,
        )
        if missing
        else _n("{count} image ready", "{count} images ready", count)
    )
    embed = discord.Embed(
        title=f"✅ {tr(ready)}",
        description=f"> {quote_prompt(resolved.request.prompt, PROMPT_FULL_CHARS)}",
        colour=COLOUR_DONE,
    )
    if shortfall is not None:
        embed.add_field(
            name=tr(_("⚠️ Not every image came")),
            value=f"{tr(shortfall)[:900]}\n"
            + tr(_("Only the images delivered count toward your limits.")),
            inline=False,
        )
    embed.add_field(name=tr(_("Settings")), value=settings_line(resolved, tr), inline=False)
    if defaults:
        embed.add_field(name=tr(_("Defaults used")), value=defaults[:1024], inline=False)
    embed.add_field(name=tr(_("Requested by")), value=requester, inline=True)
    embed.add_field(name=tr(_("Took")), value=tr.duration(elapsed), inline=True)
    notes = [f"`{image.filename}`: {tr(image.note)}" for image in images if image.note]
    if notes:
        embed.add_field(name=tr(_("Files")), value="\n".join(notes)[:1024], inline=False)
    embed.set_footer(text=tr(label))
    return embed


FAILURE_TITLES = {
    "refusal": ("🚫", _("Refused")),
    "input": ("⚠️", _("Can't use that input")),
    "timeout": ("⏱️", _("Timed out")),
    "cancelled": ("✖️", _("Cancelled")),
    "upstream": ("❌", _("The image service failed")),
    "internal": ("❌", _("Something went wrong")),
    "interrupted": ("🔁", _("Interrupted by a restart")),
    "undeliverable": ("📭", _("Could not be posted")),
}


def failure_embed(
    resolved: ResolvedRequest, failure: JobFailed, *, label: Text, tr: Lang
) -> discord.Embed:
    """A job that ended without images: say why and what to do."""
    emoji, title = FAILURE_TITLES[failure.failure]
    embed = discord.Embed(
        title=f"{emoji} {tr(title)}",
        description=f"> {quote_prompt(resolved.request.prompt)}\n\n{tr(failure.reason)}",
        colour=COLOUR_FAILED,
    )
    if failure.task_id:
        embed.add_field(name=tr(_("Task")), value=f"`{failure.task_id}`", inline=True)
    embed.set_footer(text=tr(label))
    return embed


#: How a failed job's kind reads (``/usage``, the moderation log).
FAILURE_NAMES = {
    "refusal": _("refused by the image service's safety system"),
    "upstream": _("image service errors"),
    "timeout": _("timed out"),
    "input": _("unusable input"),
    "cancelled": _("cancelled"),
    "internal": _("Easel errors"),
    "interrupted": _("cut off by a restart"),
    "undeliverable": _("made but the member could not be reached"),
}


def failure_name(kind: str | None) -> Text:
    """A failure kind in words ("timed out"); an unknown one as it is."""
    return FAILURE_NAMES.get(kind or "", literal(kind or "unknown"))
