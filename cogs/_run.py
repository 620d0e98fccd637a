"""Run an accepted job inside an interaction: read attachments, stream progress, post images.

Shared by every command that starts a job, so each one only parses its own options.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.errors import InputError
from bot.jobs.models import InputImage, JobCompleted, JobFailed, ResolvedRequest
from bot.media.limits import INPUT_MAX_BYTES
from cogs._job_message import NO_MENTIONS, JobMessage
from cogs._render import failure_embed, progress_embed, result_embed

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def check_attachments(attachments: Sequence[discord.Attachment]) -> None:
    """Refuse non-images and oversized files from their metadata, before deferring."""
    for attachment in attachments:
        content_type = (attachment.content_type or "").split(";")[0]
        looks_like_image = content_type.startswith(
            "image/"
        ) or attachment.filename.lower().endswith(IMAGE_EXTENSIONS)
        if not looks_like_image:
            raise InputError(
                f"`{attachment.filename}` is not an image. Attach PNG, JPEG, WebP or GIF files.",
                field="references",
            )
        if attachment.size > INPUT_MAX_BYTES:
            raise InputError(
                f"`{attachment.filename}` is {attachment.size / 1_000_000:.0f} MB; images can be "
                f"at most {INPUT_MAX_BYTES // 1_000_000} MB.",
                field="references",
            )


async def read_attachments(attachments: Sequence[discord.Attachment]) -> tuple[InputImage, ...]:
    """Download the member's attachments now: Discord's attachment URLs expire."""

    async def read(attachment: discord.Attachment) -> InputImage:
        try:
            data = await attachment.read()
        except discord.HTTPException as exc:
            raise InputError(
                f"Could not download `{attachment.filename}` from Discord (HTTP {exc.status}). "
                "Attach it again.",
                field="references",
            ) from exc
        return InputImage(
            filename=attachment.filename, data=data, content_type=attachment.content_type
        )

    return tuple(await asyncio.gather(*(read(attachment) for attachment in attachments)))


async def run_job(
    interaction: discord.Interaction[EaselBot],
    resolved: ResolvedRequest,
    attachments: Sequence[discord.Attachment],
    *,
    response_message_id: int | None,
) -> None:
    """Run a validated job whose interaction is already deferred, and deliver its outcome."""
    bot = interaction.client
    engine = bot.engine
    job_id = uuid.uuid4().hex
    started_at = int(time.time())
    message = JobMessage(interaction, interval=bot.settings.progress_edit_interval)
    message.remember_message(response_message_id)
    label = engine.label
    try:
        if attachments:
            references = await read_attachments(attachments)
            resolved = resolved.model_copy(
                update={"request": resolved.request.model_copy(update={"references": references})}
            )
    except InputError as exc:
        await tell_privately(interaction, exc.user_message)
        return

    log.info(
        "job %s: user %s guild %s channel %s",
        job_id,
        interaction.user.id,
        interaction.guild_id,
        interaction.channel_id,
    )
    async for event in engine.run(resolved, size_limit=interaction.filesize_limit, job_id=job_id):
        if isinstance(event, JobCompleted):
            files = [
                discord.File(io.BytesIO(image.data), filename=image.filename)
                for image in event.images
            ]
            embed = result_embed(
                resolved,
                event.images,
                requester=interaction.user.mention,
                elapsed=event.elapsed,
                label=label,
            )
            await deliver(interaction, message, embed, files, job_id)
        elif isinstance(event, JobFailed):
            if event.failure == "input":
                await tell_privately(interaction, event.reason)
            else:
                await deliver(
                    interaction, message, failure_embed(resolved, event, label=label), [], job_id
                )
        else:
            try:
                await message.progress(
                    progress_embed(resolved, event, started_at=started_at, label=label)
                )
            except discord.HTTPException:
                log.warning("job %s: progress edit failed", job_id, exc_info=True)


async def deliver(
    interaction: discord.Interaction[EaselBot],
    message: JobMessage,
    embed: discord.Embed,
    files: list[discord.File],
    job_id: str,
) -> None:
    """Post the outcome; if the message is gone, post a new one so the member still gets it."""
    try:
        await message.finish(embed, files=files)
        return
    except discord.HTTPException as exc:
        log.warning("job %s: final edit failed (%s); posting a new message", job_id, exc)
    for file in files:
        file.reset()
    channel_id = interaction.channel_id
    if channel_id is None:
        log.error("job %s: could not deliver (no channel)", job_id)
        return
    try:
        channel = interaction.client.get_partial_messageable(channel_id)
        await channel.send(
            content=f"{interaction.user.mention}, your job finished:",
            embed=embed,
            files=files,
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException:
        log.exception("job %s: could not deliver the result to channel %s", job_id, channel_id)


async def tell_privately(interaction: discord.Interaction[EaselBot], text: str) -> None:
    """Replace a public "thinking…" with a message only the member sees."""
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("could not delete the original response", exc_info=True)
    await interaction.followup.send(f"⚠️ {text}", ephemeral=True, allowed_mentions=NO_MENTIONS)
