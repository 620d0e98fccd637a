"""New jobs made from a finished one: re-roll, vary, upscale (the result buttons).

Editing a result is an edit job of its own (``cogs/_edit_modal.py``), not a derived request.

Pure rules plus reading the stored files; no Discord here, so the command line could offer the
same actions later.
"""

from __future__ import annotations

from typing import Literal

from bot.errors import InputError
from bot.i18n import _
from bot.jobs.job_files import read_inputs
from bot.jobs.models import InputImage, JobRequest
from bot.jobs.ports import JobFiles
from bot.jobs.records import JobRecord
from bot.options import Resolution
from bot.providers.catalog import ModelSpec

DerivedAction = Literal["reroll", "vary", "upscale"]

UPSCALE_PROMPT = (
    "Reproduce the reference image faithfully at a higher resolution, sharper and cleaner."
)


def next_tier(job: JobRecord, spec: ModelSpec) -> Resolution | None:
    """The next larger tier the model offers for the job's ratio, or None at the top."""
    tiers = spec.tiers_for(job.request.ratio)
    larger = [
        tier
        for tier in tiers
        if list(Resolution).index(tier) > list(Resolution).index(job.resolution)
    ]
    return larger[0] if larger else None


async def derived_request(
    job: JobRecord,
    action: DerivedAction,
    files: JobFiles,
    spec: ModelSpec,
    *,
    index: int = 0,
) -> tuple[JobRequest, tuple[InputImage, ...]]:
    """The request (and its input images) for ``action`` on ``job``'s image ``index``."""
    if action == "reroll":
        # An edit's mask travels in the request, not the inputs.
        inputs, mask = await read_inputs(files, job)
        return job.request.model_copy(update={"references": inputs, "mask": mask}), inputs
    if not 0 <= index < len(job.results):
        raise InputError(_("That job has no image {number}.", number=index + 1), field="index")
    result = job.results[index]
    try:
        image = InputImage(
            filename=result.filename,
            data=await files.read(result.path),
            content_type=result.content_type,
        )
    except FileNotFoundError:
        raise InputError(
            _("That image is no longer stored, so it cannot be reused. Re-roll the prompt instead.")
        ) from None
    # A mask fits the parent's input, not this result: derived jobs never carry it over.
    base = job.request.model_copy(update={"references": (image,), "mask": None})
    if action == "vary":
        return base, (image,)
    tier = next_tier(job, spec)
    if tier is None:
        raise InputError(
            _(
                "This image is already at the largest size {model} offers for {ratio}.",
                model=spec.model_id,
                ratio=str(job.request.ratio),
            )
        )
    return base.model_copy(
        update={"resolution": tier, "n": 1, "prompt": f"{UPSCALE_PROMPT} {job.request.prompt}"}
    ), (image,)
