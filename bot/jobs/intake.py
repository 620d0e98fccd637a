"""Receiving a job's input images: the job is recorded first, its attachments are read after.

A member's attachments sit behind chat URLs that can take a while to download (a large upload
on a slow link) and expire within hours. The job is persisted with those URLs before anything
slow happens (the Discord side records it while it acknowledges the interaction), so a restart
in the middle loses nothing: the next process reads them again while they live, or tells the
member plainly to attach them again. Then every input is checked (a broken file, a mask of the
wrong shape) before the job may queue, and ``auto``'s size is taken from the first image.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.errors import InputError, InternalError
from bot.i18n import _
from bot.jobs import job_files, pipeline
from bot.jobs.models import InputImage, ResolvedRequest
from bot.jobs.ports import JobFiles
from bot.jobs.records import JobRecord, JobState, StoredFile
from bot.jobs.validation import resolve_auto
from bot.media.probe import probe
from bot.options import Ratio
from bot.providers.catalog import ModelSpec

log = logging.getLogger(__name__)

READ_ATTEMPTS = 3  # a chat CDN hiccup is tried again; a file that is gone is not
READ_BACKOFF = 1.0  # seconds before the second try, then doubled

Sleep = Callable[[float], Awaitable[None]]


class InputSource(Protocol):
    """Reads the member's attachments from where they put them (Discord's CDN)."""

    async def read_input(self, url: str, filename: str) -> bytes:
        """The bytes behind ``url``; InputError (saying what to do) once the file is gone."""
        ...


def pending_input(filename: str, url: str, content_type: str | None) -> StoredFile:
    """An input the job will read from ``url`` once it is recorded (see ``receive``)."""
    return StoredFile(
        path="",
        filename=filename,
        content_type=content_type or "application/octet-stream",
        source_url=url,
    )


async def new_record(
    files: JobFiles,
    resolved: ResolvedRequest,
    *,
    job_id: str,
    inputs: Sequence[InputImage],
    pending: Sequence[StoredFile],
    **placement: Any,
) -> JobRecord:
    """A new job's record: inputs given as bytes are stored now, attachments stay pending.

    A job with inputs starts ``receiving`` (``receive`` reads and checks them); ``placement``
    is the record's other fields (origin, kind, guild, channel, member, delivery…).
    """
    mask = resolved.request.mask
    mask_bytes = mask if mask is not None and mask.data else None  # else a pending one, or none
    stored = await job_files.keep_inputs(files, job_id, inputs, mask_bytes)
    return JobRecord(
        id=job_id,
        state=JobState.RECEIVING if stored or pending else JobState.QUEUED,
        request=job_files.without_bytes(resolved.request, inputs or pending),
        resolution=resolved.resolution,
        width=resolved.width,
        height=resolved.height,
        inputs=[*stored, *pending],
        client_reference=f"easel-{job_id}",
        **placement,
    )


async def receive(
    job: JobRecord,
    *,
    source: InputSource | None,
    files: JobFiles,
    spec: ModelSpec,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Read and store every pending input, check them all, then let the job queue.

    ``spec`` is the model the job was accepted for (``auto`` snaps to its sizes). Raises
    InputError, saying what to do, for a file that is gone, broken, or a mask that does not fit.
    """
    mask_at = len(job.reference_files()) if job.mask_file() is not None else None
    received: list[StoredFile] = []
    for index, entry in enumerate(job.inputs):
        if entry.source_url is None:
            received.append(entry)
            continue
        if source is None:
            raise InternalError(f"job {job.id} has attachments but nothing can read them")
        data = await _read(source, entry, sleep)
        name = f"mask_{entry.filename}" if index == mask_at else f"input_{index}_{entry.filename}"
        path = await files.write(job.id, name, data)
        received.append(entry.model_copy(update={"path": path, "source_url": None}))
        log.info("job %s: received %s (%d bytes)", job.id, entry.filename, len(data))
    job.inputs = received
    references, mask = await job_files.read_inputs(files, job)
    await pipeline.check_inputs(references)
    if mask is not None:
        await pipeline.check_mask(references[0], mask)
    if references and job.request.ratio is Ratio.AUTO:
        first = await probe(references[0].data, filename=references[0].filename)
        resolved = resolve_auto(job.resolved(), spec, (first.width, first.height))
        job.width, job.height = resolved.width, resolved.height
    job.state = JobState.QUEUED


async def _read(source: InputSource, entry: StoredFile, sleep: Sleep) -> bytes:
    """One attachment, tried a few times: a file that is gone is said at once."""
    assert entry.source_url is not None
    for attempt in range(READ_ATTEMPTS):
        try:
            return await source.read_input(entry.source_url, entry.filename)
        except InputError:
            raise
        except Exception as exc:  # the CDN or the connection: worth another try
            if attempt + 1 == READ_ATTEMPTS:
                raise InputError(
                    _(
                        "`{name}` could not be downloaded ({problem}).",
                        name=entry.filename,
                        problem=type(exc).__name__,
                    ),
                    field="references",
                    member_hint=_("Attach it again."),
                    operator_hint="Pass the file again.",
                ) from exc
            log.warning("reading %s failed (%r); trying again", entry.filename, exc)
            await sleep(READ_BACKOFF * 2.0**attempt)
    raise AssertionError("unreachable")  # pragma: no cover
