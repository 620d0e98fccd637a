"""What each upstream model allows: ratios per tier with exact pixel sizes, counts and options.

Which sizes a model takes is data: its profile (``profiles.toml``) names a ``SizeRule`` per model,
and ``size_rule_table`` turns it into the ratio → pixels table the engine validates against.

The ToAPIs size tables come from ``shared/reference/upstream-apis.md`` §1.3.1 and §1.3.3. For
gpt-image-2 two versions of the docs disagree: the seed pages (the original API pages) offer 1K
only for 1:1, 3:2 and 2:3 and 4K only for six wide ratios; the 2026-08 docs mirror offers every
ratio at every tier. The seed table is the default; ``IMAGE_SIZE_TABLE=extended`` switches to the
mirror's. The official channel's page is the same in both versions: every ratio (and ``auto``) at
1K and 2K, only the six wide ones at 4K.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

from bot.options import Ratio, Resolution
from bot.providers.prices import ModelPrices
from bot.providers.sizes import FreeSizeRules, ListedSizes, format_size, listed_size_table
from bot.providers.sizes import Size as Size  # re-exported: the engine names sizes from here
from bot.providers.sizes import SizeTable as SizeTable

SizeTableName: TypeAlias = Literal["seed", "extended"]

_R = Ratio
_1K, _2K, _4K = Resolution.R1K, Resolution.R2K, Resolution.R4K

_TWO_K: dict[Ratio, Size] = {
    _R.SQUARE: (2048, 2048),
    _R.LANDSCAPE_3_2: (2048, 1360),
    _R.PORTRAIT_2_3: (1360, 2048),
    _R.LANDSCAPE_4_3: (2048, 1536),
    _R.PORTRAIT_3_4: (1536, 2048),
    _R.LANDSCAPE_5_4: (2560, 2048),
    _R.PORTRAIT_4_5: (2048, 2560),
    _R.WIDE_16_9: (2048, 1152),
    _R.TALL_9_16: (1152, 2048),
    _R.WIDE_2_1: (2688, 1344),
    _R.TALL_1_2: (1344, 2688),
    _R.ULTRAWIDE_21_9: (2688, 1152),
    _R.ULTRATALL_9_21: (1152, 2688),
}

_FOUR_K_WIDE: dict[Ratio, Size] = {
    _R.WIDE_16_9: (3840, 2160),
    _R.TALL_9_16: (2160, 3840),
    _R.WIDE_2_1: (3840, 1920),
    _R.TALL_1_2: (1920, 3840),
    _R.ULTRAWIDE_21_9: (3840, 1648),
    _R.ULTRATALL_9_21: (1648, 3840),
}

SEED_SIZES: SizeTable = {
    _1K: {
        _R.SQUARE: (1024, 1024),
        _R.LANDSCAPE_3_2: (1536, 1024),
        _R.PORTRAIT_2_3: (1024, 1536),
    },
    _2K: _TWO_K,
    _4K: _FOUR_K_WIDE,
}

EXTENDED_SIZES: SizeTable = {
    _1K: {
        _R.SQUARE: (1024, 1024),
        _R.LANDSCAPE_3_2: (1536, 1024),
        _R.PORTRAIT_2_3: (1024, 1536),
        _R.LANDSCAPE_4_3: (1024, 768),
        _R.PORTRAIT_3_4: (768, 1024),
        _R.LANDSCAPE_5_4: (1280, 1024),
        _R.PORTRAIT_4_5: (1024, 1280),
        _R.WIDE_16_9: (1536, 864),
        _R.TALL_9_16: (864, 1536),
        _R.WIDE_2_1: (2048, 1024),
        _R.TALL_1_2: (1024, 2048),
        _R.ULTRAWIDE_21_9: (2016, 864),
        _R.ULTRATALL_9_21: (864, 2016),
    },
    _2K: _TWO_K,
    _4K: {
        _R.SQUARE: (2880, 2880),
        _R.LANDSCAPE_3_2: (3520, 2336),
        _R.PORTRAIT_2_3: (2336, 3520),
        _R.LANDSCAPE_4_3: (3312, 2480),
        _R.PORTRAIT_3_4: (2480, 3312),
        _R.LANDSCAPE_5_4: (3216, 2576),
        _R.PORTRAIT_4_5: (2576, 3216),
        **_FOUR_K_WIDE,
    },
}

SIZE_TABLES: Mapping[SizeTableName, SizeTable] = {"seed": SEED_SIZES, "extended": EXTENDED_SIZES}

# The official channel (§1.3.3, seeds 000/002): "13 ratios or auto"; "4K only supports 6 ratios".
OFFICIAL_SIZES: SizeTable = {_1K: EXTENDED_SIZES[_1K], _2K: _TWO_K, _4K: _FOUR_K_WIDE}

# A shipped table a profile names: "toapis" is gpt-image-2's (seed or extended, as
# IMAGE_SIZE_TABLE says), "toapis-official" the official channel's.
SizeTableRef: TypeAlias = Literal["toapis", "toapis-official"]


def _size_rule_kind(value: Any) -> str:
    if isinstance(value, str):
        return "table"
    if isinstance(value, list | tuple):
        return "listed"
    return "free"


# What sizes one model takes, as a profile gives it: a table of rules (free ``WxH``), a list of
# exact sizes, or the name of a shipped ratio table.
SizeRule: TypeAlias = Annotated[
    Annotated[FreeSizeRules, Tag("free")]
    | Annotated[ListedSizes, Tag("listed")]
    | Annotated[SizeTableRef, Tag("table")],
    Discriminator(_size_rule_kind),
]


def size_rule_table(
    rule: SizeRule, size_table: SizeTableName = "seed"
) -> tuple[SizeTable, FreeSizeRules | None]:
    """The ratio → pixels table a rule offers, and the free rules behind it (None: exact sizes)."""
    if isinstance(rule, FreeSizeRules):
        return free_size_table(rule), rule
    if rule == "toapis":
        return SIZE_TABLES[size_table], None
    if rule == "toapis-official":
        return OFFICIAL_SIZES, None
    return listed_size_table(rule), None


def free_size_table(rules: FreeSizeRules) -> SizeTable:
    """Every ratio at every tier for a free-size API: the extended table's sizes, snapped.

    The extended ToAPIs sizes already fit the usual rules, so members see the same pixels from
    every provider; a stricter profile gets the nearest size its rules allow.
    """
    return {
        tier: {
            ratio: rules.snap(*size)
            for ratio, size in sizes.items()
            if max(size) / min(size) <= rules.max_aspect + 0.01  # else not that ratio at all
        }
        for tier, sizes in EXTENDED_SIZES.items()
    }


ReferenceField: TypeAlias = Literal["reference_images", "image_urls"]


class ModelSpec(BaseModel):
    """The limits of one upstream model, used to validate a request before any spend.

    ``edit`` is the model that takes edits (``image_urls`` + ``mask_url``) for this one, when it
    is another model: ToAPIs edits on its official channel, whatever model generates.
    """

    model_config = ConfigDict(frozen=True)

    model_id: str
    sizes: SizeTable
    supports_quality: bool
    supports_output_format: bool
    supports_mask: bool = False
    supports_auto_ratio: bool = False
    reference_field: ReferenceField = "reference_images"  # the field its docs name for inputs
    max_n: int = 10
    max_references: int = 16
    max_prompt_chars: int = 32_000
    edit: ModelSpec | None = None
    free_sizes: FreeSizeRules | None = None  # any WxH within these rules (OpenAI-compatible APIs)
    mask_refusal: str | None = None  # why this model takes no mask, told to the member
    references_via_edit: bool = False  # input images only go to the edit endpoint (OpenAI APIs)
    prices: ModelPrices = ModelPrices()  # what it charges (from its profile); unknown by default

    def for_edit(self) -> ModelSpec:
        """The spec edits are validated against and sent to (this one when ``edit`` is unset)."""
        return self.edit or self

    def size_for(self, ratio: Ratio, resolution: Resolution) -> Size | None:
        """Exact output pixels for a ratio at a tier, or None when the model does not offer it."""
        return self.sizes.get(resolution, {}).get(ratio)

    def tiers_for(self, ratio: Ratio) -> list[Resolution]:
        """Tiers that offer this ratio, smallest first."""
        if ratio is Ratio.AUTO:
            if not self.supports_auto_ratio:
                return []
            return [tier for tier in Resolution if self.sizes.get(tier)]
        return [tier for tier in Resolution if ratio in self.sizes.get(tier, {})]

    def ratios_for(self, resolution: Resolution) -> list[Ratio]:
        """Ratios offered at this tier, in the catalogue's order."""
        return [ratio for ratio in Ratio if ratio in self.sizes.get(resolution, {})]

    def offered(self, tiers: list[Resolution] | None = None) -> str:
        """What the model offers (at ``tiers``), for a refusal that names the choices.

        A short table names every size ("1:1 (1024x1024), 3:2 (1536x1024) at 1K"); a long one
        names the ratios per tier.
        """
        shown = [tier for tier in (tiers or list(Resolution)) if self.sizes.get(tier)]
        entries = sum(len(self.sizes[tier]) for tier in shown)
        parts = []
        for tier in shown:
            ratios = self.ratios_for(tier)
            if entries <= 6:
                sizes = self.sizes[tier]
                names = [f"{ratio} ({format_size(sizes[ratio])})" for ratio in ratios]
            else:
                names = [str(ratio) for ratio in ratios]
            parts.append(f"{', '.join(names)} at {tier}")
        return "; ".join(parts) or "no sizes"

    def size_problem(self, width: int, height: int) -> str | None:
        """Why the model refuses ``width``x``height``, or None when it takes that size."""
        if self.free_sizes is not None:
            return self.free_sizes.problem(width, height)
        allowed = {size for tier in self.sizes.values() for size in tier.values()}
        if (width, height) in allowed:
            return None
        return f"{self.model_id} takes only {self.offered()}"

    def auto_size(self, resolution: Resolution, source: Size | None) -> Size:
        """The table size ``auto`` stands for: the ratio at this tier nearest ``source``'s shape.

        The APIs do not say what ``auto`` produces; OpenAI picks the offered size closest to the
        input's aspect, which is what this estimates (square without an input). The delivered
        files are measured anyway, so this only feeds the progress message.
        """
        if self.free_sizes is not None:  # any WxH: the input's own shape at this tier
            return self.free_sizes.for_shape(source, resolution)
        offered = self.sizes.get(resolution, {})
        if not offered:
            raise ValueError(f"{self.model_id} has no sizes at {resolution}")
        return offered[nearest_ratio(list(offered), source)]


def nearest_ratio(ratios: list[Ratio], source: Size | None) -> Ratio:
    """The ratio among ``ratios`` whose shape is closest to ``source`` (1:1 for no source)."""
    width, height = source if source and min(source) > 0 else (1, 1)
    target = math.log(width / height)

    def distance(ratio: Ratio) -> float:
        across, down = ratio.value.split(":")
        return abs(math.log(int(across) / int(down)) - target)

    concrete = [ratio for ratio in ratios if ratio is not Ratio.AUTO]
    return min(concrete, key=distance)


# Seeds 000/002 name gpt-image-1.5-official; the 2026-08 docs gpt-image-2-official (§1.2).
DEFAULT_EDIT_MODEL = "gpt-image-2-official"
