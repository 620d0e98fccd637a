"""``/imagine``: text (and optional reference images) to images."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.app_commands import Choice, Range
from discord.ext import commands

from bot.errors import InputError
from bot.jobs.models import InputImage, JobRequest
from bot.options import OutputFormat, Quality, Ratio, Resolution
from cogs._job_message import NO_MENTIONS
from cogs._options import quality_autocomplete, resolution_autocomplete
from cogs._run import check_attachments, start_job

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

E = TypeVar("E", bound=StrEnum)

RATIO_LABELS: dict[Ratio, str] = {
    Ratio.SQUARE: "square",
    Ratio.LANDSCAPE_3_2: "landscape photo",
    Ratio.PORTRAIT_2_3: "portrait photo",
    Ratio.LANDSCAPE_4_3: "landscape",
    Ratio.PORTRAIT_3_4: "portrait",
    Ratio.LANDSCAPE_5_4: "landscape print",
    Ratio.PORTRAIT_4_5: "portrait print",
    Ratio.WIDE_16_9: "widescreen",
    Ratio.TALL_9_16: "phone / story",
    Ratio.WIDE_2_1: "panorama",
    Ratio.TALL_1_2: "tall banner",
    Ratio.ULTRAWIDE_21_9: "cinematic",
    Ratio.ULTRATALL_9_21: "tall cinematic",
}
RATIO_CHOICES = [
    Choice(name=f"{ratio.value} {label}", value=ratio.value)
    for ratio, label in RATIO_LABELS.items()
]
# Fixed choices for commands that do not autocomplete yet; /imagine uses cogs._options.
RESOLUTION_CHOICES = [
    Choice(name="1K (about 1 megapixel)", value=Resolution.R1K.value),
    Choice(name="2K (about 4 megapixels)", value=Resolution.R2K.value),
    Choice(name="4K (about 8 megapixels, wide ratios only)", value=Resolution.R4K.value),
]
QUALITY_CHOICES = [Choice(name=quality.value, value=quality.value) for quality in Quality]
FORMAT_CHOICES = [
    Choice(name="PNG (lossless)", value=OutputFormat.PNG.value),
    Choice(name="JPEG (smaller)", value=OutputFormat.JPEG.value),
]
MAX_REFERENCE_OPTIONS = 10


def parse_choice(enum: type[E], value: str | None, option: str) -> E | None:
    """An option value as its enum; Discord only checks choices client-side, so check again.

    Empty is "left out": autocompleted options offer an empty entry that explains why nothing
    else is offered (``cogs._options``).
    """
    if value is None or not value.strip():
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InputError(
            f"`{option}` must be one of: {allowed} (got {value!r}).", field=option
        ) from None


class Imagine(commands.Cog):
    """Generate images from a prompt."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot

    @app_commands.command(name="imagine", description="Generate images from a prompt")
    @app_commands.guild_only()
    @app_commands.rename(output_format="format")
    @app_commands.describe(
        prompt="What to draw",
        ratio="Aspect ratio (default 1:1)",
        resolution="Size tier; suggestions follow the server's image service",
        quality="Rendering quality, where the server's image service offers it",
        n="How many images (1-10)",
        output_format="File format (default PNG)",
        compression="JPEG quality 0-100, 100 is best (JPEG only)",
        reference="A reference image to guide the result",
        reference2="Another reference image",
        reference3="Another reference image",
        reference4="Another reference image",
        reference5="Another reference image",
        reference6="Another reference image",
        reference7="Another reference image",
        reference8="Another reference image",
        reference9="Another reference image",
        reference10="Another reference image",
    )
    # Every provider offers all 13 ratios (at some tier) and both formats, so those are fixed
    # choices; tiers and quality depend on the provider, so they are autocompleted from it.
    @app_commands.choices(ratio=RATIO_CHOICES, output_format=FORMAT_CHOICES)
    @app_commands.autocomplete(resolution=resolution_autocomplete, quality=quality_autocomplete)
    async def imagine_command(
        self,
        interaction: discord.Interaction[EaselBot],
        prompt: Range[str, 1, 6000],
        ratio: str | None = None,
        resolution: str | None = None,
        quality: str | None = None,
        n: Range[int, 1, 10] = 1,
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
        attachments = [
            a
            for a in (
                reference,
                reference2,
                reference3,
                reference4,
                reference5,
                reference6,
                reference7,
                reference8,
                reference9,
                reference10,
            )
            if a is not None
        ]
        try:
            check_attachments(attachments)
            request = JobRequest(
                prompt=prompt,
                ratio=parse_choice(Ratio, ratio, "ratio") or Ratio.SQUARE,
                resolution=parse_choice(Resolution, resolution, "resolution"),
                quality=parse_choice(Quality, quality, "quality"),
                n=n,
                output_format=parse_choice(OutputFormat, output_format, "format")
                or OutputFormat.PNG,
                compression=compression,
                # Placeholders so the count is validated now; the bytes are read after deferring.
                references=tuple(InputImage(filename=a.filename, data=b"") for a in attachments),
            )
            resolved = self.bot.engine.validate(request)
        except InputError as exc:
            await interaction.response.send_message(
                f"⚠️ {exc.user_message}", ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await start_job(interaction, resolved, attachments=attachments)


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    await bot.add_cog(Imagine(bot))
