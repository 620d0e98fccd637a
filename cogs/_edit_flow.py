"""The edit flow shared by /edit, /blend, the "Edit image" context menu and the result buttons.

Pieces, in the order a member meets them:

* ``cogs._edit_sources``: an image that can be edited (a message attachment or one of Easel's
  results) and how to fetch its bytes; fetched only after the interaction is acknowledged.
* ``cogs._edit_modal``: asks what to change, which image (when there are several) and,
  optionally, which area to repaint (presets and a numbered 3x3 grid, ``bot.media.regions``).
* ``cogs._region_picker``: a private message showing the chosen area tinted on a small preview,
  with a menu to change it, before anything is spent.
* here, ``start_edit``: hands the images (bytes or the member's attachments) and the mask to
  ``start_job``; the job checks the mask against the first image before anything is spent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.client import Interaction
from bot.jobs.models import AppliedDefault, InputImage, JobRequest, ResolvedRequest
from bot.jobs.records import JobRecord
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.models import JobCommand
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

    For a flow that answers before the job starts (the area picker's private preview): a
    refusal is then told at once, privately. ``start_job`` applies the rules for real, before
    it defers.
    """
    ctx = job_context(interaction, resolved, kind=kind, action="edit" if parent_id else None)
    await interaction.client.policy.vet(ctx)


async def start_edit(
    interaction: Interaction,
    resolved: ResolvedRequest,
    images: Sequence[InputImage] = (),
    mask: InputImage | None = None,
    *,
    attachments: Sequence[discord.Attachment] = (),
    kind: str = "edit",
    parent_id: str | None = None,
    defaults: Sequence[AppliedDefault] = (),
) -> JobRecord:
    """Start an edit of ``images`` (bytes) or of the member's ``attachments``.

    ``resolved`` came from ``engine.validate`` on an ``edit_request``. A mask comes as bytes
    (``mask``, a picked area) or as the last attachment; the job checks it against the first
    image (``bot.jobs.intake``) before anything is spent, and a bad one is told privately.
    For an edit of one of Easel's results, checks first that it may still be reused here.
    """
    parent = await interaction.client.engine.get_job(parent_id) if parent_id else None
    if parent is not None:  # one of Easel's results: may it still be reused, here and now?
        await ensure_reusable(interaction, parent, command=JobCommand.EDIT)
    request = resolved.request.model_copy(update={"mask": mask} if mask is not None else {})
    return await start_job(
        interaction,
        resolved.model_copy(update={"request": request}),
        attachments=attachments,
        inputs=images,
        kind=kind,
        parent_id=parent_id,
        action="edit" if parent_id else None,
        defaults=defaults,
    )
