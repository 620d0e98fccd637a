"""Images a member can edit: a message's attachments or one of Easel's stored results.

Each source only knows how to fetch its bytes; it is fetched once the interaction is answered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.errors import InputError
from bot.jobs.models import InputImage
from bot.jobs.records import JobRecord
from cogs._run import check_attachments, looks_like_image, read_attachments

if TYPE_CHECKING:
    from bot.client import EaselBot

_RESULT_NAME = re.compile(r"^(?:SPOILER_)?easel_([0-9a-f]{8})_\d+\.(?:png|jpe?g)$")


@dataclass(frozen=True)
class EditSource:
    """An image a member can edit, and how to fetch its bytes once the interaction is answered."""

    filename: str
    fetch: Callable[[], Awaitable[InputImage]]
    parent_id: str | None = None  # the Easel job that made it, when known


def sources_from_message(message: discord.Message) -> list[EditSource]:
    """Every image attached to ``message``, in order (a member's upload or an Easel result)."""

    def fetcher(attachment: discord.Attachment) -> Callable[[], Awaitable[InputImage]]:
        async def fetch() -> InputImage:
            check_attachments([attachment])
            (image,) = await read_attachments([attachment])
            return image

        return fetch

    return [
        EditSource(filename=attachment.filename, fetch=fetcher(attachment))
        for attachment in message.attachments
        if looks_like_image(attachment)
    ][:25]


def source_from_result(bot: EaselBot, job: JobRecord, index: int) -> EditSource:
    """Image ``index`` of a finished job, read from the file store (Discord's copy may be gone)."""
    if not 0 <= index < len(job.results):
        raise InputError(f"That job has no image {index + 1}.", field="image")
    stored = job.results[index]

    async def fetch() -> InputImage:
        try:
            data = await bot.engine.read_file(stored)
        except FileNotFoundError:
            raise InputError(
                "That image is no longer stored. Use “Edit image” on the message instead."
            ) from None
        return InputImage(filename=stored.filename, data=data, content_type=stored.content_type)

    return EditSource(filename=stored.filename, fetch=fetch, parent_id=job.id)


async def parent_of(bot: EaselBot, message: discord.Message | None, filename: str) -> str | None:
    """The job behind one of Easel's own result files (``easel_<job8>_<n>.png``), if any."""
    if message is None or bot.user is None or message.author.id != bot.user.id:
        return None
    match = _RESULT_NAME.match(filename)
    if match is None:
        return None
    job = await bot.engine.get_job(match.group(1))
    return job.id if job is not None else None
