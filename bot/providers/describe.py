"""What one model of one provider can do, in words: the rows ``python -m bot models`` prints.

Rows every family shares are here; each family adds its own (``FAMILIES[...].describe``).
"""

from __future__ import annotations

from bot.options import Ratio
from bot.providers.catalog import ModelSpec
from bot.providers.profiles import ProviderProfile

Rows = dict[str, str]
_IGNORED_MASK = "the API ignores masks, so Easel refuses them"


def describe_sizes(spec: ModelSpec) -> str:
    """How a model takes sizes, in one line."""
    rules = spec.free_sizes
    if rules is None and sum(len(sizes) for sizes in spec.sizes.values()) <= 6:
        return f"only {spec.offered()}"
    if rules is None:
        tiers = ", ".join(
            f"{tier}: {len(spec.ratios_for(tier))} ratios"
            for tier in spec.sizes
            if spec.sizes[tier]
        )
        return f"ratio table ({tiers})"
    return (
        f"any WxH: sides multiples of {rules.multiple}, aspect ≤ {rules.max_aspect:g}:1, "
        f"{rules.min_pixels:,}–{rules.max_pixels:,} px, long side ≤ {rules.max_side:,}"
    )


def common_rows(spec: ModelSpec) -> Rows:
    """Sizes, tiers, quality, mask and prompt: what every family's spec says the same way."""
    edit = spec.for_edit()
    tiers = ", ".join(
        f"{tier} (1:1 {size[0]}x{size[1]})"
        if (size := spec.size_for(Ratio.SQUARE, tier))
        else str(tier)
        for tier in spec.sizes
        if spec.sizes[tier]
    )
    why = _IGNORED_MASK if edit.mask_refusal else "refused"
    return {
        "sizes": describe_sizes(spec),
        "tiers": tiers,
        "quality": "low, medium, high" if spec.supports_quality else "no (refused)",
        "mask": "yes" if edit.supports_mask else f"no ({why})",
        "prompt": f"≤ {spec.max_prompt_chars:,} characters",
        "prices": spec.prices.describe(),
    }


def toapis_rows(profile: ProviderProfile, spec: ModelSpec, partial_images: int | None) -> Rows:
    """An async-task API: n per task, formats, edits through uploaded URLs, polled progress."""
    edit = spec.for_edit()
    return {
        "n": f"1-{spec.max_n} per task",
        "formats": "png, jpeg" if spec.supports_output_format else "png (Easel converts)",
        "edits": f"{edit.model_id}: uploaded image URLs"
        + (" + mask" if edit.supports_mask else "")
        + f", prompt ≤ {edit.max_prompt_chars:,}",
        "delivery": "async task, polled (progress %, no previews)",
    }


def openai_rows(profile: ProviderProfile, spec: ModelSpec, partial_images: int | None) -> Rows:
    """A synchronous API: n per request or looped, formats, edit transport, streaming."""
    caps = profile.caps(spec.model_id)
    transport = (
        "JSON with data URLs (image + images)"
        if profile.edit_transport == "json"
        else "multipart files (image or image[] + mask)"
    )
    partials = profile.partial_images if partial_images is None else partial_images
    moderation = "not sent"
    if profile.moderation:
        moderation = "auto | low" + ("" if profile.moderation_on_edits else " (generations only)")
    return {
        "n": f"1-{caps.max_n} per request"
        if caps.native_n
        else f"1-{caps.max_n}, one per call (Easel loops)",
        "formats": ", ".join(caps.formats),
        "edits": f"{transport}, prompt ≤ {spec.for_edit().max_prompt_chars:,}",
        "delivery": f"synchronous, SSE with {partials} preview frame(s)"
        if caps.streaming and partials
        else "synchronous (one answer, no previews)",
        "background": ", ".join(profile.backgrounds),
        "moderation": moderation,
    }
