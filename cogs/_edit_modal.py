"""The "Edit image" modal: what to change, which image, and (optionally) which area.

Opened by the "Edit image" context menu and by the Edit buttons on Easel's results; a whole-image
edit starts at once, an area is first shown on a ``RegionPicker``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.client import NO_MENTIONS, Interaction
from bot.i18n import Lang, _
from bot.jobs.records import JobRecord
from bot.media.regions import REGIONS, parse_regions, region_preview
from bot.policy.models import JobCommand
from cogs._answers import defer_privately, report_error
from cogs._edit_flow import edit_request, start_edit, vet_policy
from cogs._edit_sources import EditSource, source_from_result
from cogs._i18n import lang_for
from cogs._policy import ensure_reusable
from cogs._region_picker import RegionPicker, area_options, preview_file

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


MODAL_TIMEOUT = 900.0
MAX_PROMPT = 4000  # a modal text input holds at most 4000 characters


class EditImageModal(discord.ui.Modal):
    """What to change, which image, and (optionally) which area to repaint, in ``tr``'s words."""

    def __init__(
        self,
        sources: Sequence[EditSource],
        *,
        tr: Lang,
        require_area: bool = False,
    ) -> None:
        super().__init__(title=tr(_("Edit image"))[:45], timeout=MODAL_TIMEOUT)
        if not sources:
            raise ValueError("an edit needs at least one image")
        self.sources = list(sources)
        self.prompt: discord.ui.TextInput[EditImageModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            placeholder=tr(_("e.g. make it night with a full moon; keep the people as they are"))[
                :100
            ],
            max_length=MAX_PROMPT,
            custom_id="easel:edit:prompt",
        )
        self.add_item(
            discord.ui.Label(text=tr(_("What should change?"))[:45], component=self.prompt)
        )
        self.image: discord.ui.Select[EditImageModal] | None = None
        if len(self.sources) > 1:
            self.image = discord.ui.Select(
                custom_id="easel:edit:image",
                options=[
                    discord.SelectOption(
                        label=tr(_("Image {number}: {name}", number=i + 1, name=source.filename))[
                            :100
                        ],
                        value=str(i),
                        default=i == 0,
                    )
                    for i, source in enumerate(self.sources)
                ],
                required=True,
            )
            self.add_item(discord.ui.Label(text=tr(_("Which image?"))[:45], component=self.image))
        self.area: discord.ui.Select[EditImageModal] = discord.ui.Select(
            custom_id="easel:edit:area",
            options=area_options(tr),
            min_values=1 if require_area else 0,
            max_values=len(REGIONS),
            required=require_area,
            placeholder=tr(_("Pick the area to repaint"))
            if require_area
            else tr(_("The whole image")),
        )
        self.add_item(
            discord.ui.Label(
                text=tr(_("Area to repaint"))[:45],
                description=tr(
                    _(
                        "Optional: cells are a 3x3 grid numbered from the top left. "
                        "You will see it before anything is spent."
                    )
                )[:100],
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
        if parent_id is not None:  # one of Easel's results: may it still be reused here?
            parent = await interaction.client.engine.get_job(parent_id)
            if parent is not None:
                await ensure_reusable(interaction, parent, command=JobCommand.EDIT)
        source.check()
        if not keys:  # the job reads the image itself once recorded: a restart loses nothing
            if source.attachment is not None:
                await start_edit(
                    interaction, resolved, attachments=[source.attachment], parent_id=parent_id
                )
            else:
                await start_edit(interaction, resolved, [await source.fetch()], parent_id=parent_id)
            return
        await vet_policy(interaction, resolved, kind="edit", parent_id=parent_id)
        await defer_privately(interaction)  # the image is read and checked before anything public
        image = await source.fetch()
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


async def open_edit_for_result(
    interaction: Interaction, job: JobRecord, index: int = 0, *, require_area: bool = False
) -> None:
    """Answer ``interaction`` with the Edit image modal for image ``index`` of ``job``.

    For the result buttons: the modal asks what to change and, optionally (or, with
    ``require_area``, necessarily) which area to repaint; an area is shown on a preview before
    anything is spent. The new job records ``job`` as its parent. Must be the first response.
    """
    source = source_from_result(interaction.client, job, index)
    modal = EditImageModal([source], tr=lang_for(interaction), require_area=require_area)
    await interaction.response.send_modal(modal)


async def open_region_picker(interaction: Interaction, job: JobRecord, index: int = 0) -> None:
    """Open the region editor (a Vary Region) for image ``index`` of ``job``: area required."""
    await open_edit_for_result(interaction, job, index, require_area=True)
