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
from bot.options import Ratio
from bot.policy.defaults import OptionField
from bot.policy.models import JobCommand
from bot.text import is_blank
from cogs._defaults import resolve_with_defaults
from cogs._edit_flow import BLEND_PROMPT, edit_request, start_edit
from cogs._edit_modal import EditImageModal
from cogs._edit_sources import sources_with_parents
from cogs._i18n import lang_for
from cogs._image_command import ImageOptions, Numbered, Outputs, image_options
from cogs._options import (
    EDIT_RATIO_CHOICES,
    PROMPT_MAX_CHARS,
    edit_quality_autocomplete,
    edit_resolution_autocomplete,
)
from cogs._policy import ensure_reusable
from cogs._run import check_attachments

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

# /edit and /blend describe and offer their output options alike.
EDIT_OUTPUTS = Outputs(
    help={
        "resolution": "Size tier (default: the smallest offered for the ratio)",
        "quality": "Rendering quality",
        "n": "How many versions (1-10; default 1, or a default from /settings)",
    },
    ratios=EDIT_RATIO_CHOICES,
    # Tiers and quality depend on the editing model's provider: suggested, then checked on submit.
    resolution=edit_resolution_autocomplete,
    quality=edit_quality_autocomplete,
)
# Defaults fill these when left out; an edit keeps its image's shape unless a ratio is typed.
EDIT_DEFAULTS: tuple[OptionField, ...] = ("resolution", "quality", "output_format", "n")


async def run_edit_command(
    interaction: Interaction,
    *,
    prompt: str,
    images: list[discord.Attachment],
    mask: discord.Attachment | None,
    options: ImageOptions,
    kind: str,
) -> None:
    """Shared by /edit and /blend: validate (free), then start the job.

    The job is recorded with the attachments' URLs before they are read (a restart while a
    large image downloads loses nothing); it reads and checks them, the mask against the first
    image, before anything is spent.
    """
    attachments = [*images, *([mask] if mask is not None else [])]  # the mask last
    check_attachments(attachments)
    typed = options.typed()
    shape = options.ratio_choice() or Ratio.AUTO

    def request(values: dict[OptionField, Any]) -> JobRequest:
        return edit_request(
            prompt,
            images=len(images),
            mask=mask is not None,
            ratio=shape,
            **values,
            compression=options.compression,
        )

    resolved, applied = resolve_with_defaults(interaction, typed, request, options=EDIT_DEFAULTS)
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
    @app_commands.describe(
        prompt="What to change, e.g. “replace the sky with a starry night”",
        image="The image to edit",
        mask="Optional: transparent (or white on black) where to repaint; same shape as image",
        ratio="Output shape (default auto: keep the image's shape)",
        image2="Another image to use (a style or an object to add)",
    )
    @image_options(EDIT_OUTPUTS, Numbered("image", 2, 10, "Another image"))
    async def edit_command(
        self,
        interaction: Interaction,
        prompt: Range[str, 1, PROMPT_MAX_CHARS],
        image: discord.Attachment,
        mask: discord.Attachment | None = None,
        *,
        options: ImageOptions,
        images: list[discord.Attachment],
    ) -> None:
        """Edit the image (and optional extra images) with the prompt; a mask limits the area."""
        await run_edit_command(
            interaction,
            prompt=prompt,
            images=[image, *images],
            mask=mask,
            options=options,
            kind="edit",
        )

    @app_commands.command(name="blend", description="Blend 2-16 images into one")
    @app_commands.guild_only()
    @app_commands.describe(
        image1="First image (its shape is kept with ratio auto)",
        image2="Second image",
        prompt="How to combine them (optional)",
        ratio="Output shape (default auto: the first image's shape)",
    )
    @image_options(EDIT_OUTPUTS, Numbered("image", 3, 16, "Another image"))
    async def blend_command(
        self,
        interaction: Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        prompt: Range[str, 1, PROMPT_MAX_CHARS] | None = None,
        *,
        options: ImageOptions,
        images: list[discord.Attachment],
    ) -> None:
        """Blend every attached image; without a prompt, a neutral "blend these" is sent."""
        await run_edit_command(
            interaction,
            prompt=BLEND_PROMPT if prompt is None or is_blank(prompt) else prompt,
            images=[image1, image2, *images],
            mask=None,
            options=options,
            kind="blend",
        )


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Edit(bot))
