"""Slash-command options shared by the image commands: their choices, suggestions and parsing.

Discord registers ``choices`` when the commands are synced, long before (and independently of)
which provider an admin configures, and a provider can change without a re-sync. So ratio and
format are fixed choices (every provider offers all of them), while the options whose values
depend on the provider (resolution tiers per ratio, quality) are *autocompleted* from the
engine's model spec at the moment the member types. Every value is checked again on the server
(``parse_choice`` and ``Engine.validate``), since a member can type anything.

``/edit`` and ``/blend`` can use the ``edit_*`` callbacks: they read the editing model's spec.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from discord.app_commands import Choice

from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import Lang, _, _n
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.providers.catalog import ModelSpec
from cogs._i18n import lang_for

if TYPE_CHECKING:
    pass

E = TypeVar("E", bound=StrEnum)

#: The longest prompt option Discord offers. Its API does not enforce option ranges (only its
#: clients do), so every command passes this to ``Engine.validate`` too.
PROMPT_MAX_CHARS = 6000

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
EDIT_RATIO_CHOICES = [
    Choice(name="auto (keep the first image's shape)", value="auto"),
    *RATIO_CHOICES,
]
FORMAT_CHOICES = [
    Choice(name="PNG (lossless)", value=OutputFormat.PNG.value),
    Choice(name="JPEG (smaller)", value=OutputFormat.JPEG.value),
]
TIER_HINTS = {
    Resolution.R1K: _n("about {count} megapixel", "about {count} megapixels", 1),
    Resolution.R2K: _n("about {count} megapixel", "about {count} megapixels", 4),
    Resolution.R4K: _n("about {count} megapixel", "about {count} megapixels", 8),
}
QUALITY_WORDS = {Quality.LOW: _("low"), Quality.MEDIUM: _("medium"), Quality.HIGH: _("high")}
NOT_OFFERED = ""  # the value of an explanatory entry: treated as "option left out"


def _chosen_ratio(interaction: Interaction, default: Ratio) -> Ratio:
    value = getattr(interaction.namespace, "ratio", None)
    try:
        return Ratio(value) if value else default
    except ValueError:
        return default


def resolution_choices(
    spec: ModelSpec, ratio: Ratio, current: str, tr: Lang | None = None
) -> list[Choice[str]]:
    """The tiers ``spec`` offers for ``ratio`` with their exact sizes, matching ``current``,
    in the member's language."""
    tr = tr or Lang.of(None)
    choices = []
    for tier in spec.tiers_for(ratio):
        if ratio is Ratio.AUTO:
            size = (
                tr(_("the first image's shape"))
                if spec.free_sizes
                else tr(_("nearest offered ratio"))
            )
        else:
            width, height = spec.size_for(ratio, tier) or (0, 0)
            size = f"{width}×{height}"
        name = f"{tier} · {size} ({tr(TIER_HINTS[tier])})"
        if current.strip().lower() in name.lower():
            choices.append(Choice(name=name[:100], value=tier.value))
    if not choices and not current.strip():
        offered = ", ".join(spec.ratios_for(Resolution.R2K)) or tr(_("none"))
        name = tr(
            _(
                "{ratio} is not offered by {model} (try {offered})",
                ratio=str(ratio),
                model=spec.model_id,
                offered=offered,
            )
        )
        choices.append(Choice(name=name[:100], value=NOT_OFFERED))
    return choices[:25]


def quality_choices(spec: ModelSpec, current: str, tr: Lang | None = None) -> list[Choice[str]]:
    """low / medium / high where the model takes a quality, else one entry saying it does not."""
    tr = tr or Lang.of(None)
    if not spec.supports_quality:
        name = tr(_("{model} has no quality setting: leave it out", model=spec.model_id))
        return [Choice(name=name[:100], value=NOT_OFFERED)]
    typed = current.strip().lower()
    return [
        Choice(name=tr(QUALITY_WORDS[quality]), value=quality.value)
        for quality in Quality
        if typed in quality.value or typed in tr(QUALITY_WORDS[quality]).lower()
    ]


async def resolution_autocomplete(interaction: Interaction, current: str) -> list[Choice[str]]:
    """``/imagine resolution``: the tiers the configured model offers for the chosen ratio."""
    spec = interaction.client.engine.spec
    ratio = _chosen_ratio(interaction, Ratio.SQUARE)
    return resolution_choices(spec, ratio, current, lang_for(interaction))


async def quality_autocomplete(interaction: Interaction, current: str) -> list[Choice[str]]:
    """``/imagine quality``: only where the configured model takes one."""
    return quality_choices(interaction.client.engine.spec, current, lang_for(interaction))


async def edit_resolution_autocomplete(interaction: Interaction, current: str) -> list[Choice[str]]:
    """``/edit`` and ``/blend resolution``: the editing model's tiers (ratio default auto)."""
    spec = interaction.client.engine.spec.for_edit()
    ratio = _chosen_ratio(interaction, Ratio.AUTO)
    return resolution_choices(spec, ratio, current, lang_for(interaction))


async def edit_quality_autocomplete(interaction: Interaction, current: str) -> list[Choice[str]]:
    """``/edit`` and ``/blend quality``: only where the editing model takes one."""
    spec = interaction.client.engine.spec.for_edit()
    return quality_choices(spec, current, lang_for(interaction))


# ---------------------------------------------------------------------------- parsing


def parse_choice(enum: type[E], value: str | None, option: str) -> E | None:
    """An option value as its enum; Discord only checks choices client-side, so check again.

    Empty is "left out": autocompleted options offer an empty entry that explains why nothing
    else is offered.
    """
    if value is None or not value.strip():
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InputError(
            _(
                "`{option}` must be one of: {allowed} (got {value}).",
                option=option,
                allowed=allowed,
                value=repr(value),
            ),
            field=option,
        ) from None
