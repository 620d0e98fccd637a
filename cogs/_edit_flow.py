"""The edit flow shared by /edit, /blend, the "Edit image" context menu and the result buttons.

Pieces, in the order a member meets them:

* ``EditSource``: an image that can be edited (a message attachment or one of Easel's results)
  and how to fetch its bytes; fetched only after the interaction is acknowledged.
* ``EditImageModal``: asks what to change, which image (when there are several) and, optionally,
  which area to repaint (presets and a numbered 3x3 grid, ``bot.media.regions``).
* ``RegionPicker``: a private message showing the chosen area tinted on a small preview, with a
  menu to change it, before anything is spent.
* ``start_edit``: checks the mask against the first image and hands the job to ``start_job``.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.client import NO_MENTIONS
from bot.errors import InputError
from bot.jobs import pipeline
from bot.jobs.models import InputImage, JobRequest, ResolvedRequest
from bot.jobs.records import JobRecord
from bot.media.regions import (
    REGIONS,
    describe_regions,
    parse_regions,
    preview_filename,
    region_mask,
    region_preview,
)
from bot.options import OutputFormat, Quality, Ratio, Resolution
from cogs._answers import answer_privately, report_error
from cogs._policy import job_context
from cogs._render import quote_prompt
from cogs._run import check_attachments, looks_like_image, read_attachments, start_job

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["EaselBot"]

PICKER_TIMEOUT = 600.0  # seconds a region picker stays usable (well inside the 15-min token)
MODAL_TIMEOUT = 900.0
MAX_PROMPT = 4000  # a modal text input holds at most 4000 characters
BLEND_PROMPT = (
    "Blend these images into one coherent picture that combines their subjects, "
    "colours and styles naturally."
)
MASK_HELP = (
    "A PNG whose transparent pixels are repainted, or a black-and-white image where white is "
    "repainted and black kept; the size of the first image (or the same shape)."
)
_RESULT_NAME = re.compile(r"^(?:SPOILER_)?easel_([0-9a-f]{8})_\d+\.(?:png|jpe?g)$")


# ---------------------------------------------------------------------------- sources


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


# ---------------------------------------------------------------------------- requests


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

    ``start_job`` applies them for real, before it defers. Edits defer earlier, to download and
    check the images, so they ask first: before deferring (a refusal is then a private answer
    at once) and again just before ``start_job`` with no await in between, so its own check
    cannot refuse after a public "thinking…".
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
) -> JobRecord:
    """Check the mask against the first image (no spend on a bad one), then start the job.

    ``resolved`` came from ``engine.validate`` on an ``edit_request``; ``images`` and ``mask``
    carry the bytes. Checks the server's rules and defers first if the interaction is not
    answered yet.
    """
    if not interaction.response.is_done():
        await vet_policy(interaction, resolved, kind=kind, parent_id=parent_id)
        await interaction.response.defer(thinking=True)
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
    )


# ---------------------------------------------------------------------------- the modal


def area_options(selected: Sequence[str] = ()) -> list[discord.SelectOption]:
    """Select options for every region: presets first, then the nine numbered cells."""
    return [
        discord.SelectOption(
            label=region.label,
            value=key,
            description=region.description,
            default=key in selected,
        )
        for key, region in REGIONS.items()
    ]


class EditImageModal(discord.ui.Modal, title="Edit image"):
    """What to change, which image, and (optionally) which area to repaint."""

    def __init__(
        self,
        sources: Sequence[EditSource],
        *,
        message: discord.Message | None = None,
        require_area: bool = False,
    ) -> None:
        super().__init__(timeout=MODAL_TIMEOUT)
        if not sources:
            raise ValueError("an edit needs at least one image")
        self.sources = list(sources)
        self.message = message
        self.prompt: discord.ui.TextInput[EditImageModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            placeholder="e.g. make it night with a full moon; keep the people as they are",
            max_length=MAX_PROMPT,
            custom_id="easel:edit:prompt",
        )
        self.add_item(discord.ui.Label(text="What should change?", component=self.prompt))
        self.image: discord.ui.Select[EditImageModal] | None = None
        if len(self.sources) > 1:
            self.image = discord.ui.Select(
                custom_id="easel:edit:image",
                options=[
                    discord.SelectOption(
                        label=f"Image {i + 1}: {source.filename}"[:100],
                        value=str(i),
                        default=i == 0,
                    )
                    for i, source in enumerate(self.sources)
                ],
                required=True,
            )
            self.add_item(discord.ui.Label(text="Which image?", component=self.image))
        self.area: discord.ui.Select[EditImageModal] = discord.ui.Select(
            custom_id="easel:edit:area",
            options=area_options(),
            min_values=1 if require_area else 0,
            max_values=len(REGIONS),
            required=require_area,
            placeholder="The whole image" if not require_area else "Pick the area to repaint",
        )
        self.add_item(
            discord.ui.Label(
                text="Area to repaint",
                description="Optional: cells are a 3x3 grid numbered from the top left. "
                "You will see it before anything is spent.",
                component=self.area,
            )
        )

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        """Validate; run a whole-image edit now, or show the area on a preview first."""
        index = int(self.image.values[0]) if self.image and self.image.values else 0
        source = self.sources[min(index, len(self.sources) - 1)]
        keys = parse_regions(self.area.values) if self.area.values else ()
        resolved = interaction.client.engine.validate(
            edit_request(self.prompt.value, images=1, mask=bool(keys)),
            max_prompt_chars=MAX_PROMPT,
        )
        parent_id = source.parent_id
        await vet_policy(interaction, resolved, kind="edit", parent_id=parent_id)
        await interaction.response.defer(ephemeral=bool(keys), thinking=True)
        image = await source.fetch()
        parent_id = parent_id or await parent_of(interaction.client, self.message, source.filename)
        if not keys:
            await start_edit(interaction, resolved, [image], parent_id=parent_id)
            return
        preview = await region_preview(image.data, image.filename, keys)
        picker = RegionPicker(
            interaction, resolved, image, preview.source_size, keys, parent_id=parent_id
        )
        await interaction.edit_original_response(
            content=picker.text(),
            attachments=[preview_file(preview.data, keys)],
            view=picker,
            allowed_mentions=NO_MENTIONS,
        )

    async def on_error(  # type: ignore[override]
        self, interaction: Interaction, error: Exception
    ) -> None:
        """Tell the member what went wrong (a bug is logged with a reference)."""
        await report_error(interaction, error)


def preview_file(data: bytes, keys: Sequence[str]) -> discord.File:
    """The preview as an attachment."""
    return discord.File(io.BytesIO(data), filename=preview_filename(keys))


# ---------------------------------------------------------------------------- region picker


class _AreaSelect(discord.ui.Select["RegionPicker"]):
    """The picker's area menu; a change redraws the preview."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(
            custom_id="easel:region:area",
            options=area_options(keys),
            min_values=1,
            max_values=len(REGIONS),
            placeholder="Area to repaint",
            row=0,
        )

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        """Hand the new choice to the picker."""
        assert self.view is not None
        await self.view.on_area(interaction)


class RegionPicker(discord.ui.View):
    """A private preview of the area to repaint; nothing is spent until the member confirms."""

    def __init__(
        self,
        origin: Interaction,
        resolved: ResolvedRequest,
        image: InputImage,
        source_size: tuple[int, int],
        keys: Sequence[str],
        *,
        parent_id: str | None = None,
    ) -> None:
        super().__init__(timeout=PICKER_TIMEOUT)
        self.origin = origin  # its original response is this picker's message
        self.resolved = resolved
        self.image = image
        self.source_size = source_size
        self.keys = tuple(keys)
        self.parent_id = parent_id
        self.started = False
        self.area = _AreaSelect(self.keys)
        self.add_item(self.area)

    def text(self) -> str:
        """The picker's message: what will be repainted, with which prompt, and how to go on."""
        width, height = self.source_size
        return (
            f"🖌️ **Repaint:** {describe_regions(self.keys)}\n"
            f"> {quote_prompt(self.resolved.request.prompt)}\n"
            f"The tinted area of this {width}×{height} image will be repainted and the rest "
            "kept. Change the area below; nothing is spent until you press **Repaint this area**."
        )

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Only the member who asked may use their picker."""
        if interaction.user.id == self.origin.user.id:
            return True
        await answer_privately(interaction, "⚠️ This area picker belongs to someone else.")
        return False

    async def on_area(self, interaction: Interaction) -> None:
        """Show the new choice on the preview."""
        keys = parse_regions(self.area.values)
        await interaction.response.defer()
        self.keys = keys
        self.area.options = area_options(keys)
        preview = await region_preview(self.image.data, self.image.filename, keys)
        await interaction.edit_original_response(
            content=self.text(),
            attachments=[preview_file(preview.data, keys)],
            view=self,
            allowed_mentions=NO_MENTIONS,
        )

    @discord.ui.button(
        label="Repaint this area", emoji="🖌️", style=discord.ButtonStyle.primary, row=1,
        custom_id="easel:region:go",
    )  # fmt: skip
    async def repaint(self, interaction: Interaction, _: discord.ui.Button[RegionPicker]) -> None:
        """Build the mask at the image's exact size and start the edit."""
        await self._start(
            interaction,
            mask=True,
            started=f"🖌️ Repainting **{describe_regions(self.keys)}**: the result follows below.",
        )

    @discord.ui.button(
        label="Whole image instead", style=discord.ButtonStyle.secondary, row=1,
        custom_id="easel:region:whole",
    )  # fmt: skip
    async def whole(self, interaction: Interaction, _: discord.ui.Button[RegionPicker]) -> None:
        """Edit without a mask."""
        await self._start(
            interaction, mask=False, started="✏️ Editing the whole image: the result follows below."
        )

    async def _start(self, interaction: Interaction, *, mask: bool, started: str) -> None:
        """Start the edit once (with the area's mask or none); the picker then says how it went."""
        if self.started:
            await answer_privately(interaction, "⚠️ This edit has already started.")
            return
        self.started = True
        resolved, region = self.resolved, None
        if mask:
            mask_data = await region_mask(self.source_size, self.keys)
            region = InputImage(
                filename="region_mask.png", data=mask_data, content_type="image/png"
            )
        else:
            request = resolved.request.model_copy(update={"mask": None})
            resolved = resolved.model_copy(update={"request": request})
        # A refusal or a bad mask goes to on_error, which closes the picker once the member is told.
        await start_edit(interaction, resolved, [self.image], region, parent_id=self.parent_id)
        await self._close(started)

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, row=1, custom_id="easel:region:cancel"
    )
    async def cancel(self, interaction: Interaction, _: discord.ui.Button[RegionPicker]) -> None:
        """Drop the edit; nothing was spent."""
        self.started = True
        await interaction.response.edit_message(
            content="Cancelled: nothing was spent.", attachments=[], view=None
        )
        self.stop()

    async def on_timeout(self) -> None:
        """Say the picker expired (best effort: the message may be gone)."""
        if not self.started:
            await self._close("This area picker expired; nothing was spent.", keep_preview=False)

    async def on_error(  # type: ignore[override]
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Tell the member what went wrong; an edit that was to start did not: say so."""
        await report_error(interaction, error)
        if self.started:
            await self._close("The edit did not start; see the message above.")

    async def _close(self, text: str, *, keep_preview: bool = True) -> None:
        """Replace the picker's controls with ``text`` (the preview stays, as a record)."""
        self.stop()
        extra: dict[str, Any] = {} if keep_preview else {"attachments": []}
        try:
            await self.origin.edit_original_response(
                content=text, view=None, allowed_mentions=NO_MENTIONS, **extra
            )
        except discord.HTTPException:
            log.debug("could not close the region picker", exc_info=True)


# ---------------------------------------------------------------------------- entry points


async def open_edit_for_result(
    interaction: Interaction, job: JobRecord, index: int = 0, *, require_area: bool = False
) -> None:
    """Answer ``interaction`` with the Edit image modal for image ``index`` of ``job``.

    For the result buttons: the modal asks what to change and, optionally (or, with
    ``require_area``, necessarily) which area to repaint; an area is shown on a preview before
    anything is spent. The new job records ``job`` as its parent. Must be the first response.
    """
    source = source_from_result(interaction.client, job, index)
    await interaction.response.send_modal(EditImageModal([source], require_area=require_area))


async def open_region_picker(interaction: Interaction, job: JobRecord, index: int = 0) -> None:
    """Open the region editor (a Vary Region) for image ``index`` of ``job``: area required."""
    await open_edit_for_result(interaction, job, index, require_area=True)
