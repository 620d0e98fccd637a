"""Images a member can edit: a message's attachments or one of Easel's stored results.

Each source only knows how to fetch its bytes; it is fetched once the interaction is answered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import discord

from bot.errors import InputError
from bot.i18n import _
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
    attachment: discord.Attachment | None = None  # a message's file, checked before fetching

    def check(self) -> None:
        """Refuse what the file's details already tell (before the interaction is answered)."""
        if self.attachment is not None:
            check_attachments([self.attachment])


def sources_from_message(message: discord.Message) -> list[EditSource]:
    """Every image attached to ``message``, in order (a member's upload or an Easel result)."""

    def fetcher(attachment: discord.Attachment) -> Callable[[], Awaitable[InputImage]]:
        async def fetch() -> InputImage:
            (image,) = await read_attachments([attachment])
            return image

        return fetch

    return [
        EditSource(filename=attachment.filename, fetch=fetcher(attachment), attachment=attachment)
        for attachment in message.attachments
        if looks_like_image(attachment)
    ][:25]


def source_from_result(bot: EaselBot, job: JobRecord, index: int) -> EditSource:
    """Image ``index`` of a finished job, read from the file store (Discord's copy may be gone)."""
    if not 0 <= index < len(job.results):
        raise InputError(_("That job has no image {number}.", number=index + 1), field="image")
    stored = job.results[index]

    async def fetch() -> InputImage:
        try:
            data = await bot.engine.read_file(stored)
        except FileNotFoundError:
            raise InputError(
                _("That image is no longer stored. Use “Edit image” on the message instead.")
            ) from None
        return InputImage(filename=stored.filename, data=data, content_type=stored.content_type)

    return EditSource(filename=stored.filename, fetch=fetch, parent_id=job.id)


async def sources_with_parents(
    bot: EaselBot, message: discord.Message
) -> tuple[list[EditSource], list[JobRecord]]:
    """The images of ``message``, each of Easel's own results linked to the job that made it
    (``easel_<job8>_<n>.png`` on a message of Easel's), and those jobs.

    Editing one of Easel's results reuses its job, so the caller checks the server's rules for
    each job before anything else (``cogs._policy.ensure_reusable``).
    """
    sources = sources_from_message(message)
    if bot.user is None or message.author.id != bot.user.id:
        return sources, []
    jobs: dict[str, JobRecord] = {}
    linked = []
    for source in sources:
        match = _RESULT_NAME.match(source.filename)
        key = match.group(1) if match is not None else None
        job = None
        if key is not None:
            job = jobs.get(key) or await bot.engine.get_job(key)
        if key is None or job is None:
            linked.append(source)
            continue
        jobs[key] = job
        linked.append(replace(source, parent_id=job.id))
    return linked, list(jobs.values())
