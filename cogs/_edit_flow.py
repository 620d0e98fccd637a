"""The edit flow shared by /edit, /blend, the "Edit image" context menu and the result buttons.

Pieces, in the order a member meets them:

* ``cogs._edit_sources``: an image that can be edited (a message attachment or one of Easel's
  results) and how to fetch its bytes; fetched only after the interaction is acknowledged.
* ``cogs._edit_modal``: asks what to change, which image (when there are several) and,
  optionally, which area to repaint (presets and a numbered 3x3 grid, ``bot.media.regions``).
* ``cogs._region_picker``: a private message showing the chosen area tinted on a small preview,
  with a menu to change it, before anything is spent.
* here, ``start_edit``: checks the mask against the first image and hands the job to
  ``start_job``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.client import Interaction
from bot.jobs import pipeline
from bot.jobs.models import AppliedDefault, InputImage, JobRequest, ResolvedRequest
from bot.jobs.records import JobRecord
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.models import JobCommand
from cogs._answers import defer_privately
from cogs._policy import ensure_reusable, job_context
from cogs._run import start_job

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


BLEND_PROMPT = (
    "Blend these images into one coherent picture that combines their subjects, "
    "colours and styles naturally."
)


def edit_request(
    prompt: str,
    *,
    images: int,
    mask: bool = False,
    ratio: Ratio = Ratio.AUTO,
    resolution: Resolution | None = None,
    quality: Quality | None = None,
    n: int = 1,
    output_format: OutputFormat = OutputFormat.PNG,
    compression: int | None = None,
) -> JobRequest:
    """An edit request with placeholder inputs, so counts and options are validated up front."""
    return JobRequest(
        prompt=prompt,
        ratio=ratio,
        resolution=resolution,
        quality=quality,
        n=n,
        output_format=output_format,
        compression=compression,
        references=tuple(InputImage(filename=f"image{i + 1}", data=b"") for i in range(images)),
        edit=True,
        mask=InputImage(filename="mask.png", data=b"") if mask else None,
    )


async def vet_policy(
    interaction: Interaction, resolved: ResolvedRequest, *, kind: str, parent_id: str | None
) -> None:
    """Apply the server's rules as a dry run (nothing stays reserved); raise a refusal.

    ``start_job`` applies them for real, before it defers. Edits defer earlier (privately), to
    download and check the images, so they ask first: before deferring (a refusal is then a
    private answer at once, without a download) and again just before ``start_job``, with no
    await in between, so its own check does not refuse what was just vetted.
    """
    ctx = job_context(interaction, resolved, kind=kind, action="edit" if parent_id else None)
    await interaction.client.policy.vet(ctx)


async def start_edit(
    interaction: Interaction,
    resolved: ResolvedRequest,
    images: Sequence[InputImage],
    mask: InputImage | None = None,
    *,
    kind: str = "edit",
    parent_id: str | None = None,
    defaults: Sequence[AppliedDefault] = (),
) -> JobRecord:
    """Check the mask against the first image (no spend on a bad one), then start the job.

    ``resolved`` came from ``engine.validate`` on an ``edit_request``; ``images`` and ``mask``
    carry the bytes. Checks the server's rules (and, for an edit of one of Easel's results,
    whether that result may still be reused) and defers first if the interaction is not
    answered yet.
    """
    parent = await interaction.client.engine.get_job(parent_id) if parent_id else None
    if parent is not None:  # one of Easel's results: may it still be reused, here and now?
        await ensure_reusable(interaction, parent, command=JobCommand.EDIT)
    if not interaction.response.is_done():
        await vet_policy(interaction, resolved, kind=kind, parent_id=parent_id)
        await defer_privately(interaction)  # public only once the images and mask pass
    if mask is not None:
        await pipeline.check_mask(images[0], mask)
    await vet_policy(interaction, resolved, kind=kind, parent_id=parent_id)
    request = resolved.request.model_copy(update={"mask": mask})
    return await start_job(
        interaction,
        resolved.model_copy(update={"request": request}),
        inputs=images,
        kind=kind,
        parent_id=parent_id,
        action="edit" if parent_id else None,
        defaults=defaults,
    )
