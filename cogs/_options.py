"""Slash-command options that follow what the configured image service can do.

Discord registers ``choices`` when the commands are synced, long before (and independently of)
which provider an admin configures, and a provider can change without a re-sync. So the options
whose values depend on the provider (resolution tiers per ratio, quality) are *autocompleted*
from the engine's model spec at the moment the member types, and every value is checked again
on the server (``parse_choice`` and ``Engine.validate``), since a member can type anything.

``/edit`` and ``/blend`` can use the ``edit_*`` callbacks: they read the editing model's spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.app_commands import Choice

from bot.options import Quality, Ratio, Resolution
from bot.providers.catalog import ModelSpec

if TYPE_CHECKING:
    from bot.client import EaselBot

TIER_HINTS = {
    Resolution.R1K: "about 1 megapixel",
    Resolution.R2K: "about 4 megapixels",
    Resolution.R4K: "about 8 megapixels",
}
NOT_OFFERED = ""  # the value of an explanatory entry: treated as "option left out"


def _chosen_ratio(interaction: discord.Interaction[EaselBot], default: Ratio) -> Ratio:
    value = getattr(interaction.namespace, "ratio", None)
    try:
        return Ratio(value) if value else default
    except ValueError:
        return default


def resolution_choices(spec: ModelSpec, ratio: Ratio, current: str) -> list[Choice[str]]:
    """The tiers ``spec`` offers for ``ratio`` with their exact sizes, matching ``current``."""
    choices = []
    for tier in spec.tiers_for(ratio):
        if ratio is Ratio.AUTO:
            size = "the first image's shape" if spec.free_sizes else "nearest offered ratio"
        else:
            width, height = spec.size_for(ratio, tier) or (0, 0)
            size = f"{width}×{height}"
        name = f"{tier} · {size} ({TIER_HINTS[tier]})"
        if current.strip().lower() in name.lower():
            choices.append(Choice(name=name, value=tier.value))
    if not choices and not current.strip():
        offered = ", ".join(spec.ratios_for(Resolution.R2K)) or "none"
        choices.append(
            Choice(
                name=f"{ratio} is not offered by {spec.model_id} (try {offered})"[:100], value=""
            )
        )
    return choices[:25]


def quality_choices(spec: ModelSpec, current: str) -> list[Choice[str]]:
    """low / medium / high where the model takes a quality, else one entry saying it does not."""
    if not spec.supports_quality:
        return [Choice(name=f"{spec.model_id} has no quality setting: leave it out", value="")]
    return [
        Choice(name=quality.value, value=quality.value)
        for quality in Quality
        if current.strip().lower() in quality.value
    ]


async def resolution_autocomplete(
    interaction: discord.Interaction[EaselBot], current: str
) -> list[Choice[str]]:
    """``/imagine resolution``: the tiers the configured model offers for the chosen ratio."""
    spec = interaction.client.engine.spec
    return resolution_choices(spec, _chosen_ratio(interaction, Ratio.SQUARE), current)


async def quality_autocomplete(
    interaction: discord.Interaction[EaselBot], current: str
) -> list[Choice[str]]:
    """``/imagine quality``: only where the configured model takes one."""
    return quality_choices(interaction.client.engine.spec, current)


async def edit_resolution_autocomplete(
    interaction: discord.Interaction[EaselBot], current: str
) -> list[Choice[str]]:
    """``/edit`` and ``/blend resolution``: the editing model's tiers (ratio default auto)."""
    spec = interaction.client.engine.spec.for_edit()
    return resolution_choices(spec, _chosen_ratio(interaction, Ratio.AUTO), current)


async def edit_quality_autocomplete(
    interaction: discord.Interaction[EaselBot], current: str
) -> list[Choice[str]]:
    """``/edit`` and ``/blend quality``: only where the editing model takes one."""
    return quality_choices(interaction.client.engine.spec.for_edit(), current)
