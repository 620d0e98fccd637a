"""A job's images in the file store: inputs kept at acceptance, results kept once fetched.

The record holds only ``StoredFile`` references; these helpers turn images into stored files and
back, so the engine, failover and delivery never handle paths themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.jobs.models import InputImage, JobRequest, ResultImage
from bot.jobs.ports import JobFiles
from bot.jobs.records import JobRecord, StoredFile


async def keep_inputs(
    files: JobFiles, job_id: str, inputs: Sequence[InputImage], mask: InputImage | None
) -> list[StoredFile]:
    """Store the member's images now (Discord's URLs expire); an edit's mask goes last."""
    named = [(f"input_{index}_{image.filename}", image) for index, image in enumerate(inputs)]
    if mask is not None:
        named.append((f"mask_{mask.filename}", mask))
    stored = []
    for name, image in named:
        path = await files.write(job_id, name, image.data)
        stored.append(
            StoredFile(
                path=path,
                filename=image.filename,
                content_type=image.content_type or "application/octet-stream",
            )
        )
    return stored


def without_bytes(
    request: JobRequest, inputs: Sequence[InputImage] | Sequence[StoredFile]
) -> JobRequest:
    """The request as the record keeps it: the images' names and types; bytes are in files.

    ``inputs`` are the references as given, or the attachments still to be read (an edit's
    mask, when it is one of them, comes last and is not a reference).
    """
    mask = request.mask
    references = [
        item.model_copy(update={"data": b""})
        if isinstance(item, InputImage)
        else InputImage(filename=item.filename, data=b"", content_type=item.content_type)
        for item in inputs
    ]
    if references and not isinstance(inputs[0], InputImage) and mask is not None and not mask.data:
        references.pop()  # the pending mask
    return request.model_copy(
        update={
            "references": tuple(references),
            "mask": None if mask is None else mask.model_copy(update={"data": b""}),
        }
    )


async def read_inputs(
    files: JobFiles, job: JobRecord
) -> tuple[tuple[InputImage, ...], InputImage | None]:
    """The job's stored references, and an edit's mask (None when it had none)."""
    images = [
        InputImage(filename=f.filename, data=await files.read(f.path), content_type=f.content_type)
        for f in job.inputs
    ]
    count = len(job.reference_files())
    return tuple(images[:count]), images[count] if job.mask_file() is not None else None


async def keep_results(
    files: JobFiles, job_id: str, images: Sequence[ResultImage]
) -> list[StoredFile]:
    """Store fitted results (the upstream links expire), with what delivery needs to know."""
    stored = []
    for image in images:
        path = await files.write(job_id, image.filename, image.data)
        stored.append(
            StoredFile(
                path=path,
                filename=image.filename,
                content_type=image.output_format.mime_type,
                width=image.width,
                height=image.height,
                output_format=image.output_format,
                note=image.note,
            )
        )
    return stored


async def load_results(files: JobFiles, job: JobRecord) -> tuple[ResultImage, ...]:
    """A finished job's images, read back from the file store."""
    images = []
    for stored in job.results:
        data = await files.read(stored.path)
        images.append(
            ResultImage(
                filename=stored.filename,
                data=data,
                width=stored.width,
                height=stored.height,
                output_format=stored.output_format or job.request.output_format,
                note=stored.note,
            )
        )
    return tuple(images)
