"""``/imagine``: text (and optional reference images) to images."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Range
from discord.ext import commands

from bot.client import Interaction
from bot.jobs.models import InputImage, JobRequest
from bot.policy.defaults import OptionField
from cogs._defaults import resolve_with_defaults
from cogs._image_command import ImageOptions, Numbered, Outputs, image_options
from cogs._options import (
    PROMPT_MAX_CHARS,
    RATIO_CHOICES,
    quality_autocomplete,
    resolution_autocomplete,
)
from cogs._run import check_attachments, start_job

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)


class Imagine(commands.Cog):
    """Generate images from a prompt."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="imagine", description="Generate images from a prompt")
    @app_commands.guild_only()
    @app_commands.describe(prompt="What to draw", reference="A reference image to guide the result")
    @image_options(
        Outputs(
            help={
                "ratio": "Aspect ratio (default 1:1, or your /settings or the server's default)",
                "resolution": "Size tier; suggestions follow the server's image service",
                "quality": "Rendering quality, where the server's image service offers it",
                "n": "How many images (1-10; default 1, or a default from /settings)",
            },
            ratios=RATIO_CHOICES,
            resolution=resolution_autocomplete,
            quality=quality_autocomplete,
        ),
        Numbered("reference", 1, 10, "Another reference image"),
    )
    async def imagine_command(
        self,
        interaction: Interaction,
        prompt: Range[str, 1, PROMPT_MAX_CHARS],
        *,
        options: ImageOptions,
        images: list[discord.Attachment],
    ) -> None:
        """Validate (costs nothing), defer, then run the job and keep one message updated."""
        check_attachments(images)
        typed: dict[OptionField, object] = {"ratio": options.ratio_choice(), **options.typed()}

        def request(values: dict[OptionField, object]) -> JobRequest:
            return JobRequest.model_validate(
                {
                    "prompt": prompt,
                    **values,
                    "compression": options.compression,
                    # Placeholders so the count is validated now; the bytes are read later.
                    "references": [InputImage(filename=a.filename, data=b"") for a in images],
                }
            )

        # Left-out options come from the member's, the channel's or the server's defaults.
        resolved, applied = resolve_with_defaults(interaction, typed, request)
        await start_job(interaction, resolved, attachments=images, defaults=applied)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Imagine(bot))
