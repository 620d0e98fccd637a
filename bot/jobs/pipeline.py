"""The upstream steps of a job, each one small and stateless: upload, submit, fetch results.

The engine calls these between persisting the job's state; they know the provider and Pillow,
nothing about storage or Discord.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import NamedTuple

from bot.errors import (
    EaselError,
    InputError,
    InternalError,
    ResultUnavailableError,
    TaskFailedError,
)
from bot.i18n import Text, _
from bot.jobs import job_files
from bot.jobs.models import InputImage, ResolvedRequest, ResultImage
from bot.jobs.ports import JobFiles
from bot.jobs.records import JobRecord
from bot.jobs.validation import spec_for
from bot.media.delivery import fit_for_delivery
from bot.media.inputs import PreparedImage, prepare_mask, prepare_reference
from bot.media.probe import probe
from bot.providers.base import ImageProvider, TaskSnapshot, TaskSpec

log = logging.getLogger(__name__)

UPLOAD_CONCURRENCY = 4  # uploads of one job at once: 16 references should not take 16 round trips


async def check_inputs(images: Sequence[InputImage]) -> None:
    """Decode every input now so a broken file is refused before the job is accepted."""
    for image in images:
        await probe(image.data, filename=image.filename)


async def check_mask(first_image: InputImage, mask: InputImage) -> tuple[int, int]:
    """Refuse a mask that cannot fit the first image, before anything is accepted or uploaded.

    Returns the first image's upright size. Preparation may later downscale that image to fit
    the upload limit; ``prepare_mask`` then resizes the mask to the same shape, so checking
    against the upright size here is enough.
    """
    info = await probe(first_image.data, filename=first_image.filename)
    await prepare_mask(mask.data, target_size=(info.width, info.height), filename=mask.filename)
    return info.width, info.height


class PreparedInputs(NamedTuple):
    """A job's inputs converted for the API: references, and the mask sized to the first one."""

    references: list[PreparedImage]
    mask: PreparedImage | None


async def prepare_inputs(
    images: Sequence[InputImage], mask: InputImage | None = None
) -> PreparedInputs:
    """Convert every input (and fit the mask to the first prepared reference) before any upload.

    All of it happens first so a bad file fails the job without a single upstream request.
    """
    references = list(
        await asyncio.gather(*(prepare_reference(i.data, i.filename) for i in images))
    )
    prepared_mask = None
    if mask is not None:
        if not references:
            raise InputError(_("A mask needs an image to apply to."), field="mask")
        first = references[0]
        prepared_mask = await prepare_mask(
            mask.data, target_size=(first.width, first.height), filename=mask.filename
        )
    return PreparedInputs(references, prepared_mask)


async def upload_prepared(
    provider: ImageProvider, prepared: PreparedInputs
) -> tuple[list[str], str | None]:
    """Upload the prepared references (in order) and mask; return their public URLs."""
    gate = asyncio.Semaphore(UPLOAD_CONCURRENCY)

    async def upload(image: PreparedImage) -> str:
        async with gate:
            return await provider.upload_image(image.data, image.filename, image.content_type)

    files = [*prepared.references, *([prepared.mask] if prepared.mask else [])]
    urls = list(await asyncio.gather(*(upload(image) for image in files)))
    mask_url = urls.pop() if prepared.mask is not None else None
    return urls, mask_url


async def upload_inputs(provider: ImageProvider, images: Sequence[InputImage]) -> list[str]:
    """Convert what the API does not take, upload each image, return their public URLs."""
    urls, _uploads = await upload_prepared(provider, await prepare_inputs(images))
    return urls


def task_spec(
    provider: ImageProvider,
    resolved: ResolvedRequest,
    urls: Sequence[str],
    client_reference: str,
    *,
    mask_url: str | None = None,
) -> TaskSpec:
    """What to submit: the request, minus options the model does not take (Easel applies those)."""
    request = resolved.request
    native_format = spec_for(request, provider.spec).supports_output_format
    return TaskSpec(
        prompt=request.prompt,
        ratio=request.ratio,
        resolution=resolved.resolution,
        width=resolved.width,
        height=resolved.height,
        n=request.n,
        quality=request.quality,
        output_format=request.output_format if native_format else None,
        compression=request.compression if native_format else None,
        reference_urls=tuple(urls),
        edit=request.edit,
        mask_url=mask_url,
        client_reference=client_reference,
    )


class FetchedResults(NamedTuple):
    """The results that came, and why the others (if any) could not be downloaded."""

    images: tuple[ResultImage, ...]
    failed: int
    reason: Text | None


async def fetch_results(
    provider: ImageProvider,
    snapshot: TaskSnapshot,
    resolved: ResolvedRequest,
    *,
    filename_stem: str,
    size_limit: int | None,
) -> FetchedResults:
    """Download every result at once (the links expire) and fit each for delivery.

    A result that cannot be downloaded (after the provider's own tries) or read does not cost
    the member the others: they are kept and the failure is reported. Only when none came does
    this raise, with the most telling error.
    """
    if not snapshot.result_urls:
        raise TaskFailedError(
            _("The image service reported success but sent no image. Please try again."),
            provider=provider.name,
        )
    request = resolved.request

    async def fetch(index: int, url: str) -> ResultImage:
        data = await provider.download(url)
        try:
            fitted = await fit_for_delivery(
                data,
                filename_stem=f"{filename_stem}_{index + 1}",
                output_format=request.output_format,
                compression=request.compression,
                limit_bytes=size_limit,
            )
        except (InternalError, InputError) as exc:
            raise ResultUnavailableError(
                _("The image service sent a file that is not a readable image. Please try again."),
                provider=provider.name,
                detail=str(exc),
            ) from exc
        return ResultImage(**fitted.model_dump())

    urls = snapshot.result_urls[: request.n]
    outcomes = await asyncio.gather(
        *(fetch(i, url) for i, url in enumerate(urls)), return_exceptions=True
    )
    images = tuple(o for o in outcomes if isinstance(o, ResultImage))
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for error in errors:
        if not isinstance(error, EaselError):
            raise error  # a bug or a cancellation, not a lost image
    if not images:
        raise errors[0]
    if errors:
        log.warning(
            "%d of %d result(s) could not be downloaded: %s", len(errors), len(urls), errors[0]
        )
    reason = errors[0].message_text if errors and isinstance(errors[0], EaselError) else None
    return FetchedResults(images, len(errors), reason)


async def collect(
    job: JobRecord, provider: ImageProvider, done: TaskSnapshot, files: JobFiles
) -> None:
    """Fetch the finished task's results into the job's stored files.

    Fewer images than asked (looped calls that failed, a provider that sent fewer, a result
    that could not be downloaded) are kept with the reason for the rest in ``failure_reason``;
    none at all raises (``fetch_results``).
    """
    fetched = await fetch_results(
        provider,
        done,
        job.resolved(),
        filename_stem=f"easel_{job.id[:8]}",
        size_limit=job.size_limit,
    )
    job.results = await job_files.keep_results(files, job.id, fetched.images)
    if job.missing:
        sent = len(done.result_urls)
        job.failure_reason = (
            done.shortfall_reason
            or fetched.reason
            or _(
                "the image service sent {sent} of the {asked} asked for",
                sent=sent,
                asked=job.request.n,
            )
        )
        log.warning(
            "job %s: %d of %d image(s) missing: %s",
            job.id,
            job.missing,
            job.request.n,
            job.failure_reason,
        )
