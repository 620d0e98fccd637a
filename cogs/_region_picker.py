"""The region picker: the area to repaint, tinted on a private preview, before anything is spent.

A member can change the area from a menu (the preview is redrawn), repaint it, edit the whole
image instead, or cancel.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.client import NO_MENTIONS, Interaction
from bot.i18n import Lang, Text, _, _p
from bot.jobs.models import InputImage, ResolvedRequest
from bot.media.regions import (
    REGIONS,
    describe_regions,
    parse_regions,
    preview_filename,
    region_mask,
    region_preview,
)
from cogs._answers import answer_privately, report_error
from cogs._edit_flow import start_edit
from cogs._i18n import lang_for
from cogs._render import quote_prompt

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


PICKER_TIMEOUT = 600.0  # seconds a region picker stays usable (well inside the 15-min token)


def area_options(tr: Lang, selected: Sequence[str] = ()) -> list[discord.SelectOption]:
    """Select options for every region: presets first, then the nine numbered cells."""
    return [
        discord.SelectOption(
            label=tr(region.label)[:100],
            value=key,
            description=tr(region.description)[:100],
            default=key in selected,
        )
        for key, region in REGIONS.items()
    ]


def preview_file(data: bytes, keys: Sequence[str]) -> discord.File:
    """The preview as an attachment."""
    return discord.File(io.BytesIO(data), filename=preview_filename(keys))


class _AreaSelect(discord.ui.Select["RegionPicker"]):
    """The picker's area menu; a change redraws the preview."""

    def __init__(self, keys: Sequence[str], tr: Lang) -> None:
        super().__init__(
            custom_id="easel:region:area",
            options=area_options(tr, keys),
            min_values=1,
            max_values=len(REGIONS),
            placeholder=tr(_("Area to repaint")),
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
        self.tr = lang_for(origin)
        self.area = _AreaSelect(self.keys, self.tr)
        self.add_item(self.area)
        self.repaint.label = self.tr(_p("button", "Repaint this area"))
        self.whole.label = self.tr(_p("button", "Whole image instead"))
        self.cancel.label = self.tr(_p("button", "Cancel"))

    def text(self) -> str:
        """The picker's message: what will be repainted, with which prompt, and how to go on."""
        tr = self.tr
        width, height = self.source_size
        areas = _("**Repaint:** {areas}", areas=describe_regions(self.keys))
        size = f"{width}×{height}"
        how = _(
            "The tinted area of this {size} image will be repainted and the rest kept. Change "
            "the area below; nothing is spent until you press **{button}**.",
            size=size,
            button=_p("button", "Repaint this area"),
        )
        return f"🖌️ {tr(areas)}\n> {quote_prompt(self.resolved.request.prompt)}\n{tr(how)}"

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Only the member who asked may use their picker."""
        if interaction.user.id == self.origin.user.id:
            return True
        mine = lang_for(interaction)(_("This area picker belongs to someone else."))
        await answer_privately(interaction, f"⚠️ {mine}")
        return False

    async def on_area(self, interaction: Interaction) -> None:
        """Show the new choice on the preview."""
        keys = parse_regions(self.area.values)
        await interaction.response.defer()
        self.keys = keys
        self.area.options = area_options(self.tr, keys)
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
    async def repaint(
        self, interaction: Interaction, _button: discord.ui.Button[RegionPicker]
    ) -> None:
        """Build the mask at the image's exact size and start the edit."""
        started = _(
            "Repainting **{areas}**: the result follows below.",
            areas=describe_regions(self.keys),
        )
        await self._start(interaction, mask=True, started=started, emoji="🖌️")

    @discord.ui.button(
        label="Whole image instead", style=discord.ButtonStyle.secondary, row=1,
        custom_id="easel:region:whole",
    )  # fmt: skip
    async def whole(
        self, interaction: Interaction, _button: discord.ui.Button[RegionPicker]
    ) -> None:
        """Edit without a mask."""
        started = _("Editing the whole image: the result follows below.")
        await self._start(interaction, mask=False, started=started, emoji="✏️")

    async def _start(
        self, interaction: Interaction, *, mask: bool, started: Text, emoji: str
    ) -> None:
        """Start the edit once (with the area's mask or none); the picker then says how it went."""
        if self.started:
            already = lang_for(interaction)(_("This edit has already started."))
            await answer_privately(interaction, f"⚠️ {already}")
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
        await self._close(f"{emoji} {self.tr(started)}")

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, row=1, custom_id="easel:region:cancel"
    )
    async def cancel(
        self, interaction: Interaction, _button: discord.ui.Button[RegionPicker]
    ) -> None:
        """Drop the edit; nothing was spent."""
        self.started = True
        await interaction.response.edit_message(
            content=self.tr(_("Cancelled: nothing was spent.")), attachments=[], view=None
        )
        self.stop()

    async def on_timeout(self) -> None:
        """Say the picker expired (best effort: the message may be gone)."""
        if not self.started:
            expired = self.tr(_("This area picker expired; nothing was spent."))
            await self._close(expired, keep_preview=False)

    async def on_error(  # type: ignore[override]
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Tell the member what went wrong; an edit that was to start did not: say so."""
        await report_error(interaction, error)
        if self.started:
            await self._close(self.tr(_("The edit did not start; see the message above.")))

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
