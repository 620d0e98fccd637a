"""The upstream steps of a job, each one small and stateless: upload, submit, fetch results.

The engine calls these between persisting the job's state; they know the provider and Pillow,
nothing about storage or Discord.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.errors import InputError, InternalError, ResultUnavailableError, TaskFailedError
from bot.jobs.models import InputImage, ResolvedRequest, ResultImage
from bot.media.delivery import fit_for_delivery
from bot.media.inputs import prepare_reference
from bot.media.probe import probe
from bot.providers.base import ImageProvider, TaskSnapshot, TaskSpec

log = logging.getLogger(__name__)


async def check_inputs(images: Sequence[InputImage]) -> None:
    """Decode every input now so a broken file is refused before the job is accepted."""
    for image in images:
        await probe(image.data, filename=image.filename)


async def upload_inputs(provider: ImageProvider, images: Sequence[InputImage]) -> list[str]:
    """Convert what the API does not take, upload each image, return their public URLs."""
    urls = []
    for image in images:
        prepared = await prepare_reference(image.data, image.filename)
        urls.append(
            await provider.upload_image(prepared.data, prepared.filename, prepared.content_type)
        )
    return urls


def task_spec(
    provider: ImageProvider, resolved: ResolvedRequest, urls: Sequence[str], client_reference: str
) -> TaskSpec:
    """What to submit: the request, minus options the model does not take (Easel applies those)."""
    request = resolved.request
    native_format = provider.spec.supports_output_format
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
        client_reference=client_reference,
    )


async def fetch_results(
    provider: ImageProvider,
    snapshot: TaskSnapshot,
    resolved: ResolvedRequest,
    *,
    filename_stem: str,
    size_limit: int | None,
) -> tuple[ResultImage, ...]:
    """Download every result at once (the links expire) and fit each for delivery."""
    if not snapshot.result_urls:
        raise TaskFailedError(
            "The image service reported success but sent no image. Please try again.",
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
                "The image service sent a file that is not a readable image. Please try again.",
                provider=provider.name,
                detail=str(exc),
            ) from exc
        return ResultImage(**fitted.model_dump())

    return tuple(
        await asyncio.gather(*(fetch(i, url) for i, url in enumerate(snapshot.result_urls)))
    )
