"""Accept a job from an interaction: defer, read attachments, hand it to the engine.

Shared by every command that starts a job, so each one only parses its own options. From
``engine.accept`` on, the job is persisted and ``DiscordDelivery`` renders it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import discord

from bot.client import Interaction
from bot.errors import InputError
from bot.jobs.models import AppliedDefault, InputImage, ResolvedRequest
from bot.jobs.records import Delivery, JobAction, JobRecord
from bot.media.limits import INPUT_MAX_BYTES, MAX_PIXELS
from cogs._answers import acknowledged_privately, defer_privately, post_publicly
from cogs._policy import job_context
from cogs._render import progress_embed

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


def attached(*options: discord.Attachment | None) -> list[discord.Attachment]:
    """The attachments a member gave, in option order (options left out are None)."""
    return [attachment for attachment in options if attachment is not None]


def looks_like_image(attachment: discord.Attachment) -> bool:
    """An attachment Easel may be able to read (decoding decides for sure).

    Discord's content type decides where it names one; a generic or missing type leaves it to
    the file's extension.
    """
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    if content_type and content_type not in GENERIC_TYPES:
        return content_type.startswith("image/")
    return attachment.filename.lower().endswith(IMAGE_EXTENSIONS)


def check_attachments(attachments: Sequence[discord.Attachment]) -> None:
    """Refuse what the attachments' metadata already tells, before anything is acknowledged:
    not an image, empty, too large, too many pixels. Only the bytes can tell the rest."""
    for attachment in attachments:
        name = discord.utils.escape_markdown(attachment.filename)
        if not looks_like_image(attachment):
            raise InputError(
                f"`{name}` is not an image. Attach PNG, JPEG, WebP or GIF files.",
                field="references",
            )
        if attachment.size == 0:
            raise InputError(
                f"`{name}` is empty (0 bytes). Attach the image again.", field="references"
            )
        if attachment.size > INPUT_MAX_BYTES:
            raise InputError(
                f"`{name}` is {attachment.size / 1_000_000:.0f} MB; images can be "
                f"at most {INPUT_MAX_BYTES // 1_000_000} MB.",
                field="references",
            )
        width, height = attachment.width or 0, attachment.height or 0
        if width * height > MAX_PIXELS:
            raise InputError(
                f"`{name}` is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
                f"Easel reads images up to {MAX_PIXELS / 1e6:.0f} megapixels. Downscale it and "
                "try again.",
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


class AckGate:
    """Acknowledge first: work after a defer waits while other interactions await theirs.

    When many members press at once, every interaction must be answered within Discord's 3 s
    and the sooner the better; reading attachments, saving the job and the first progress edit
    can wait a moment. The wait is capped so steady traffic never starves accepted jobs.
    """

    def __init__(self, max_wait: float = 1.0) -> None:
        self.max_wait = max_wait
        self._pending = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.asynccontextmanager
    async def acknowledging(self) -> AsyncIterator[None]:
        """Mark one acknowledgement in flight."""
        self._pending += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._pending -= 1
            if self._pending == 0:
                self._quiet.set()

    async def wait_until_quiet(self) -> None:
        """Return once no acknowledgement is in flight, or after ``max_wait`` seconds."""
        if self._pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), self.max_wait)


ACK_GATE = AckGate()


async def start_job(
    interaction: Interaction,
    resolved: ResolvedRequest,
    *,
    attachments: Sequence[discord.Attachment] = (),
    inputs: Sequence[InputImage] = (),
    kind: str = "imagine",
    parent_id: str | None = None,
    action: JobAction | None = None,
    defaults: Sequence[AppliedDefault] = (),
) -> JobRecord:
    """Check the server's rules, defer (if not yet), read the inputs, and accept the job.

    Raises ``PolicyRefusal`` if a rule refused it (nothing is deferred or spent) and
    ``InputError`` for bad inputs; the error handler tells the member. The policy check is
    memory-only, so it runs before the 3-second defer.
    """
    bot = interaction.client
    job_id = uuid.uuid4().hex
    ctx = job_context(interaction, resolved, kind=kind, action=action)
    await bot.policy.admit(ctx, job_id=job_id)
    accepted = False
    try:
        job = await _accept(
            interaction,
            resolved,
            job_id=job_id,
            attachments=attachments,
            inputs=inputs,
            kind=kind,
            parent_id=parent_id,
            action=action,
            defaults=defaults,
        )
        accepted = True
        return job
    finally:
        if not accepted:
            bot.policy.release(job_id)


async def _accept(
    interaction: Interaction,
    resolved: ResolvedRequest,
    *,
    job_id: str,
    attachments: Sequence[discord.Attachment],
    inputs: Sequence[InputImage],
    kind: str,
    parent_id: str | None,
    action: JobAction | None,
    defaults: Sequence[AppliedDefault],
) -> JobRecord:
    bot = interaction.client
    # Images to read and check may still refuse: acknowledge privately until they pass, so a
    # refusal leaves nothing public (a job without images is acknowledged publicly at once).
    private = bool(attachments or inputs)
    callback = None
    if not interaction.response.is_done():
        async with ACK_GATE.acknowledging():
            if private:
                await defer_privately(interaction)
            else:
                callback = await interaction.response.defer(thinking=True)
        await ACK_GATE.wait_until_quiet()
    all_inputs = (*inputs, *await read_attachments(attachments))
    await bot.engine.check_inputs(all_inputs)
    if acknowledged_privately(interaction):
        starting = progress_embed(
            resolved, None, started_at=int(time.time()), label=bot.engine.label
        )
        message_id: int | None = (await post_publicly(interaction, embed=starting)).id
    else:
        message_id = callback.message_id if callback is not None else None
        if message_id is None:
            message_id = await response_message_id(interaction)
    delivery = Delivery(
        application_id=interaction.application_id,
        interaction_token=interaction.token,
        token_expires_at=interaction.expires_at.timestamp(),
        message_id=message_id,
    )
    try:
        return await bot.engine.accept(
            resolved,
            origin="discord",
            inputs=all_inputs,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            size_limit=interaction.filesize_limit,
            delivery=delivery,
            job_id=job_id,
            kind=kind,
            parent_id=parent_id,
            action=action,
            defaults=defaults,
        )
    except Exception:
        if acknowledged_privately(interaction) and message_id is not None:
            await _withdraw(interaction, message_id)  # no public "Starting…" left behind
        raise


async def _withdraw(interaction: Interaction, message_id: int) -> None:
    """Delete the public message of a job that was not accepted after all (best effort)."""
    try:
        await interaction.followup.delete_message(message_id)
    except discord.HTTPException:
        log.warning("could not delete the message of a job that was not accepted")


async def response_message_id(interaction: Interaction) -> int | None:
    """The id of the response message (edits after the token dies need it): one GET."""
    try:
        return (await interaction.original_response()).id
    except discord.HTTPException:
        log.warning("could not read the response message of interaction %s", interaction.id)
        return None
