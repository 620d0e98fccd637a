"""Accept a job from an interaction: record it, defer, and let the engine run it.

Shared by every command that starts a job, so each one only parses its own options. The job is
recorded (with the member's attachment URLs and the interaction token) while the interaction is
acknowledged, before anything slow: a restart at any moment after that finishes it or tells the
member. The engine reads the attachments itself (``DiscordAttachments``, ``bot.jobs.intake``)
and ``DiscordDelivery`` renders it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.ack_gate import ACK_GATE
from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import _
from bot.jobs.intake import pending_input
from bot.jobs.models import AppliedDefault, InputImage, ResolvedRequest
from bot.jobs.records import Delivery, JobAction, JobRecord
from bot.media.limits import INPUT_MAX_BYTES, MAX_PIXELS, describe_limit, describe_size
from bot.policy.models import JobContext
from cogs._answers import acknowledged_privately, defer_privately
from cogs._policy import job_context

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


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
                _("`{name}` is not an image. Attach PNG, JPEG, WebP or GIF files.", name=name),
                field="references",
            )
        if attachment.size == 0:
            raise InputError(
                _("`{name}` is empty (0 bytes). Attach the image again.", name=name),
                field="references",
            )
        if attachment.size > INPUT_MAX_BYTES:
            raise InputError(
                _(
                    "`{name}` is {size}; images can be at most {limit}.",
                    name=name,
                    size=describe_size(attachment.size),
                    limit=describe_limit(INPUT_MAX_BYTES),
                ),
                field="references",
            )
        width, height = attachment.width or 0, attachment.height or 0
        if width * height > MAX_PIXELS:
            raise InputError(
                _(
                    "`{name}` is {width}x{height} pixels ({megapixels} megapixels); Easel reads "
                    "images up to {max} megapixels. Downscale it and try again.",
                    name=name,
                    width=str(width),
                    height=str(height),
                    megapixels=round(width * height / 1e6),
                    max=round(MAX_PIXELS / 1e6),
                ),
                field="references",
            )


async def read_attachments(attachments: Sequence[discord.Attachment]) -> tuple[InputImage, ...]:
    """Download the member's attachments now: Discord's attachment URLs expire."""

    async def read(attachment: discord.Attachment) -> InputImage:
        try:
            data = await attachment.read()
        except discord.HTTPException as exc:
            raise InputError(
                _(
                    "Could not download `{name}` from Discord (HTTP {status}). Attach it again.",
                    name=attachment.filename,
                    status=str(exc.status),
                ),
                field="references",
            ) from exc
        return InputImage(
            filename=attachment.filename, data=data, content_type=attachment.content_type
        )

    return tuple(await asyncio.gather(*(read(attachment) for attachment in attachments)))


class Acceptances:
    """Jobs being recorded and acknowledged right now, so a shutdown can settle them.

    Shutdown (the delivery extension unloading, before Discord's connection closes) lets them
    finish for a moment, then cancels the rest: each job is recorded before its defer, so a
    cancelled one resumes at the next start instead of raising into a closed connection.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Mark the current task as accepting a job."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def settle(self, grace: float = 2.0) -> None:
        """Wait up to ``grace`` seconds for acceptances under way, then cancel the rest."""
        tasks = {task for task in self._tasks if task is not asyncio.current_task()}
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.info(
                "%d job(s) were being accepted at shutdown; they resume at the next start",
                len(pending),
            )


ACCEPTING = Acceptances()


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
    """Check the server's rules, then record the job, defer (if not yet) and start it.

    ``attachments`` are read by the job itself once recorded; ``inputs`` are images Easel
    already has (a stored result, a region's mask). Raises ``PolicyRefusal`` if a rule refused
    it (nothing is deferred or spent); the error handler tells the member. The policy check is
    memory-only, so it runs before the 3-second defer. A bad input is told privately by the
    delivery once the job has read it.
    """
    bot = interaction.client
    job_id = uuid.uuid4().hex
    ctx = job_context(interaction, resolved, kind=kind, action=action)
    await bot.policy.admit(ctx, job_id=job_id)
    accepted = False
    try:
        with ACCEPTING.track():
            job = await _accept(
                interaction,
                resolved,
                ctx,
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
    ctx: JobContext,
    *,
    job_id: str,
    attachments: Sequence[discord.Attachment],
    inputs: Sequence[InputImage],
    kind: str,
    parent_id: str | None,
    action: JobAction | None,
    defaults: Sequence[AppliedDefault],
) -> JobRecord:
    """Record the job while the interaction is acknowledged, then start it.

    The record and the defer run together: the record is a local write of a few milliseconds,
    so the acknowledgement is not delayed, and a process killed while Discord answers the defer
    (or while a large attachment downloads) still has the job to resume. A job with images is
    acknowledged privately: they may still be refused once read, and a refusal must leave
    nothing public; the delivery posts its public message once they passed. Before it is
    recorded, the policy's reservation is confirmed in the database every process shares.
    """
    engine = interaction.client.engine
    if interaction.response.is_done():
        private = acknowledged_privately(interaction)
    else:
        private = bool(attachments or inputs)

    async def confirmed_and_recorded() -> JobRecord:
        # Another process may have taken the member's last image since the check in memory:
        # the policy decides again in the database as the record is written, in one
        # transaction with the other jobs accepted meanwhile (group commit, bot.store.batch).
        return await engine.accept(
            resolved,
            origin="discord",
            inputs=inputs,
            pending=[pending_input(a.filename, a.url, a.content_type) for a in attachments],
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            size_limit=interaction.filesize_limit,
            delivery=Delivery(
                application_id=interaction.application_id,
                interaction_token=interaction.token,
                token_expires_at=interaction.expires_at.timestamp(),
                acknowledged_privately=private,
            ),
            job_id=job_id,
            kind=kind,
            parent_id=parent_id,
            action=action,
            defaults=defaults,
            start=False,
            locale=interaction.locale.value,  # the requester's language, for later messages
            record=interaction.client.policy.recorder(ctx, job_id=job_id),
        )

    recording = asyncio.ensure_future(confirmed_and_recorded())
    callback = None
    try:
        if not interaction.response.is_done():
            async with ACK_GATE.acknowledging(interaction.id):
                if private:
                    await defer_privately(interaction)
                else:
                    callback = await interaction.response.defer(thinking=True)
    except discord.NotFound as exc:  # 10062: too late, Discord no longer knows the interaction
        job = await recording
        await engine.abandon(job, f"the interaction could not be acknowledged ({exc.text})")
        raise
    except asyncio.CancelledError:
        # Shutting down (``ACCEPTING.settle``): the job stays recorded and resumes at the next
        # start, finding its message or posting a new one; never half done.
        await asyncio.wait({recording})
        raise
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        # The defer may well have reached Discord: run the job, it finds its message (or
        # posts one) when it has something to show.
        log.warning("interaction %s: the defer failed (%r); running the job", interaction.id, exc)
    job = await recording
    await ACK_GATE.wait_until_quiet()
    message_id = None
    if not private:  # a private "thinking…" is replaced by a public message once inputs pass
        message_id = callback.message_id if callback is not None else None
        if message_id is None:
            message_id = await response_message_id(interaction)
    await engine.launch(job, message_id=message_id)
    return job


class DiscordAttachments:
    """Reads a member's attachments from Discord's CDN for the engine (``intake.InputSource``)."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    async def read_input(self, url: str, filename: str) -> bytes:
        """The attachment's bytes; InputError once Discord no longer has it (links expire).

        While the bot shuts down this waits to be cancelled: the job stays recorded and reads
        the attachment at the next start, rather than failing on a closed connection.
        """
        if self.bot.is_closed():
            await asyncio.Event().wait()
        try:
            return await self.bot.http.get_from_cdn(url)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise InputError(
                _(
                    "`{name}` can no longer be downloaded from Discord (HTTP {status}): its link "
                    "expired.",
                    name=filename,
                    status=str(exc.status),
                ),
                field="references",
                member_hint=_("Attach it again."),
            ) from exc


async def response_message_id(interaction: Interaction) -> int | None:
    """The id of the response message (edits after the token dies need it): one GET."""
    try:
        return (await interaction.original_response()).id
    except discord.HTTPException:
        log.warning("could not read the response message of interaction %s", interaction.id)
        return None
