"""``/edit``, ``/blend`` and the "Edit image" message context menu: changing images, not drawing.

All three send the images to the editing model (``IMAGE_EDIT_MODEL``) as ``image_urls``, with a
``mask_url`` when part of the image is to be repainted. The mask can be an uploaded file (``/edit``)
or an area picked from a menu (the context menu and the result buttons, ``cogs._edit_modal``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Range
from discord.ext import commands

from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import _
from bot.jobs.models import JobRequest
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.defaults import OptionField
from bot.policy.models import JobCommand
from bot.text import is_blank
from cogs._defaults import resolve_with_defaults
from cogs._edit_flow import BLEND_PROMPT, edit_request, start_edit
from cogs._edit_modal import EditImageModal
from cogs._edit_sources import sources_with_parents
from cogs._i18n import lang_for
from cogs._options import (
    EDIT_RATIO_CHOICES,
    FORMAT_CHOICES,
    PROMPT_MAX_CHARS,
    edit_quality_autocomplete,
    edit_resolution_autocomplete,
    numbered,
    parse_choice,
)
from cogs._policy import ensure_reusable
from cogs._run import attached, check_attachments

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

# /edit and /blend describe and offer their output options alike.
OUTPUT_HELP = {
    "resolution": "Size tier (default: the smallest offered for the ratio)",
    "quality": "Rendering quality",
    "n": "How many versions (1-10; default 1, or a default from /settings)",
    "output_format": "File format (default PNG)",
    "compression": "JPEG quality 0-100, 100 is best (JPEG only)",
}
OUTPUT_CHOICES = {"ratio": EDIT_RATIO_CHOICES, "output_format": FORMAT_CHOICES}
# Defaults fill these when left out; an edit keeps its image's shape unless a ratio is typed.
EDIT_DEFAULTS: tuple[OptionField, ...] = ("resolution", "quality", "output_format", "n")
# Tiers and quality depend on the editing model's provider: suggested, then checked on submit.
OUTPUT_AUTOCOMPLETE = {
    "resolution": edit_resolution_autocomplete,
    "quality": edit_quality_autocomplete,
}


async def run_edit_command(
    interaction: Interaction,
    *,
    prompt: str,
    images: list[discord.Attachment],
    mask: discord.Attachment | None,
    ratio: str | None,
    resolution: str | None,
    quality: str | None,
    n: int | None,
    output_format: str | None,
    compression: int | None,
    kind: str,
) -> None:
    """Shared by /edit and /blend: validate (free), then start the job.

    The job is recorded with the attachments' URLs before they are read (a restart while a
    large image downloads loses nothing); it reads and checks them, the mask against the first
    image, before anything is spent.
    """
    check_attachments([*images, *([mask] if mask else [])])
    typed: dict[OptionField, Any] = {
        "resolution": parse_choice(Resolution, resolution, "resolution"),
        "quality": parse_choice(Quality, quality, "quality"),
        "output_format": parse_choice(OutputFormat, output_format, "format"),
        "n": n,
    }
    shape = parse_choice(Ratio, ratio, "ratio") or Ratio.AUTO

    def request(values: dict[OptionField, Any]) -> JobRequest:
        return edit_request(
            prompt,
            images=len(images),
            mask=mask is not None,
            ratio=shape,
            **values,
            compression=compression,
        )

    resolved, applied = resolve_with_defaults(interaction, typed, request, options=EDIT_DEFAULTS)
    attachments = [*images, *([mask] if mask is not None else [])]  # the mask last
    await start_edit(interaction, resolved, attachments=attachments, kind=kind, defaults=applied)


class Edit(commands.Cog):
    """Edit, blend and inpaint images."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot
        # Context menus cannot be declared in a cog class body; build here, add in cog_load.
        self.edit_menu = app_commands.ContextMenu(name="Edit image", callback=self.edit_image_menu)
        self.edit_menu.guild_only = True

    async def cog_load(self) -> None:
        """Register the context menu with the tree."""
        self.bot.tree.add_command(self.edit_menu)

    async def cog_unload(self) -> None:
        """Take the context menu off the tree again."""
        self.bot.tree.remove_command(self.edit_menu.name, type=self.edit_menu.type)

    async def edit_image_menu(self, interaction: Interaction, message: discord.Message) -> None:
        """Right-click → Apps → Edit image: ask what to change (a modal must answer first)."""
        sources, jobs = await sources_with_parents(interaction.client, message)
        if not sources:
            raise InputError(
                _(
                    "That message has no image attached. Use “Edit image” on a message with a "
                    "PNG, JPEG, WebP or GIF."
                )
            )
        for job in jobs:  # editing one of Easel's results reuses its job: the rules decide
            await ensure_reusable(interaction, job, command=JobCommand.EDIT)
        await interaction.response.send_modal(EditImageModal(sources, tr=lang_for(interaction)))

    @app_commands.command(name="edit", description="Change an image: describe the edit")
    @app_commands.guild_only()
    @app_commands.rename(output_format="format")
    @app_commands.describe(
        prompt="What to change, e.g. “replace the sky with a starry night”",
        image="The image to edit",
        mask="Optional: transparent (or white on black) where to repaint; same shape as image",
        ratio="Output shape (default auto: keep the image's shape)",
        **OUTPUT_HELP,
        image2="Another image to use (a style or an object to add)",
        **numbered("image", 3, 10, "Another image"),
    )
    @app_commands.choices(**OUTPUT_CHOICES)
    @app_commands.autocomplete(**OUTPUT_AUTOCOMPLETE)
    async def edit_command(
        self,
        interaction: Interaction,
        prompt: Range[str, 1, PROMPT_MAX_CHARS],
        image: discord.Attachment,
        mask: discord.Attachment | None = None,
        ratio: str | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        n: Range[int, 1, 10] | None = None,
        output_format: str | None = None,
        compression: Range[int, 0, 100] | None = None,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        image6: discord.Attachment | None = None,
        image7: discord.Attachment | None = None,
        image8: discord.Attachment | None = None,
        image9: discord.Attachment | None = None,
        image10: discord.Attachment | None = None,
    ) -> None:
        """Edit the image (and optional extra images) with the prompt; a mask limits the area."""
        await run_edit_command(
            interaction,
            prompt=prompt,
            images=attached(
                image, image2, image3, image4, image5, image6, image7, image8, image9, image10
            ),
            mask=mask,
            ratio=ratio,
            resolution=resolution,
            quality=quality,
            n=n,
            output_format=output_format,
            compression=compression,
            kind="edit",
        )

    @app_commands.command(name="blend", description="Blend 2-16 images into one")
    @app_commands.guild_only()
    @app_commands.rename(output_format="format")
    @app_commands.describe(
        image1="First image (its shape is kept with ratio auto)",
        image2="Second image",
        prompt="How to combine them (optional)",
        ratio="Output shape (default auto: the first image's shape)",
        **OUTPUT_HELP,
        **numbered("image", 3, 16, "Another image"),
    )
    @app_commands.choices(**OUTPUT_CHOICES)
    @app_commands.autocomplete(**OUTPUT_AUTOCOMPLETE)
    async def blend_command(
        self,
        interaction: Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        prompt: Range[str, 1, PROMPT_MAX_CHARS] | None = None,
        ratio: str | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        n: Range[int, 1, 10] | None = None,
        output_format: str | None = None,
        compression: Range[int, 0, 100] | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        image6: discord.Attachment | None = None,
        image7: discord.Attachment | None = None,
        image8: discord.Attachment | None = None,
        image9: discord.Attachment | None = None,
        image10: discord.Attachment | None = None,
        image11: discord.Attachment | None = None,
        image12: discord.Attachment | None = None,
        image13: discord.Attachment | None = None,
        image14: discord.Attachment | None = None,
        image15: discord.Attachment | None = None,
        image16: discord.Attachment | None = None,
    ) -> None:
        """Blend every attached image; without a prompt, a neutral "blend these" is sent."""
        images = attached(
            image1, image2, image3, image4, image5, image6, image7, image8,
            image9, image10, image11, image12, image13, image14, image15, image16,
        )  # fmt: skip
        await run_edit_command(
            interaction,
            prompt=BLEND_PROMPT if prompt is None or is_blank(prompt) else prompt,
            images=images,
            mask=None,
            ratio=ratio,
            resolution=resolution,
            quality=quality,
            n=n,
            output_format=output_format,
            compression=compression,
            kind="blend",
        )


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Edit(bot))
