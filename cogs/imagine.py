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
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.defaults import OptionField
from cogs._defaults import resolve_with_defaults
from cogs._options import (
    FORMAT_CHOICES,
    PROMPT_MAX_CHARS,
    RATIO_CHOICES,
    numbered,
    parse_choice,
    quality_autocomplete,
    resolution_autocomplete,
)
from cogs._run import attached, check_attachments, start_job

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)


class Imagine(commands.Cog):
    """Generate images from a prompt."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="imagine", description="Generate images from a prompt")
    @app_commands.guild_only()
    @app_commands.rename(output_format="format")
    @app_commands.describe(
        prompt="What to draw",
        ratio="Aspect ratio (default 1:1, or your /settings or the server's default)",
        resolution="Size tier; suggestions follow the server's image service",
        quality="Rendering quality, where the server's image service offers it",
        n="How many images (1-10; default 1, or a default from /settings)",
        output_format="File format (default PNG)",
        compression="JPEG quality 0-100, 100 is best (JPEG only)",
        reference="A reference image to guide the result",
        **numbered("reference", 2, 10, "Another reference image"),
    )
    # Every provider offers all 13 ratios (at some tier) and both formats, so those are fixed
    # choices; tiers and quality depend on the provider, so they are autocompleted from it.
    @app_commands.choices(ratio=RATIO_CHOICES, output_format=FORMAT_CHOICES)
    @app_commands.autocomplete(resolution=resolution_autocomplete, quality=quality_autocomplete)
    async def imagine_command(
        self,
        interaction: Interaction,
        prompt: Range[str, 1, PROMPT_MAX_CHARS],
        ratio: str | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        n: Range[int, 1, 10] | None = None,
        output_format: str | None = None,
        compression: Range[int, 0, 100] | None = None,
        reference: discord.Attachment | None = None,
        reference2: discord.Attachment | None = None,
        reference3: discord.Attachment | None = None,
        reference4: discord.Attachment | None = None,
        reference5: discord.Attachment | None = None,
        reference6: discord.Attachment | None = None,
        reference7: discord.Attachment | None = None,
        reference8: discord.Attachment | None = None,
        reference9: discord.Attachment | None = None,
        reference10: discord.Attachment | None = None,
    ) -> None:
        """Validate (costs nothing), defer, then run the job and keep one message updated."""
        attachments = attached(
            reference, reference2, reference3, reference4, reference5,
            reference6, reference7, reference8, reference9, reference10,
        )  # fmt: skip
        check_attachments(attachments)
        typed: dict[OptionField, object] = {
            "ratio": parse_choice(Ratio, ratio, "ratio"),
            "resolution": parse_choice(Resolution, resolution, "resolution"),
            "quality": parse_choice(Quality, quality, "quality"),
            "output_format": parse_choice(OutputFormat, output_format, "format"),
            "n": n,
        }

        def request(values: dict[OptionField, object]) -> JobRequest:
            return JobRequest.model_validate(
                {
                    "prompt": prompt,
                    **values,
                    "compression": compression,
                    # Placeholders so the count is validated now; the bytes are read later.
                    "references": [InputImage(filename=a.filename, data=b"") for a in attachments],
                }
            )

        # Left-out options come from the member's, the channel's or the server's defaults.
        resolved, applied = resolve_with_defaults(interaction, typed, request)
        await start_job(interaction, resolved, attachments=attachments, defaults=applied)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Imagine(bot))
