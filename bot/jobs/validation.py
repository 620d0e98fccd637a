"""Check a request against what the model allows, before any upstream spend.

Discord only checks option ranges in its client (discord.py passes out-of-range values through),
and the command line checks nothing, so every limit is checked again here. Each refusal says what
was wrong and what to send instead.
"""

from __future__ import annotations

from bot.errors import InputError
from bot.jobs.models import JobRequest, ResolvedRequest
from bot.options import OutputFormat
from bot.providers.catalog import ModelSpec

MAX_IMAGES_PER_JOB = 10


def validate_request(request: JobRequest, spec: ModelSpec) -> ResolvedRequest:
    """Return the request with its exact output size, or raise InputError saying what to change."""
    prompt = request.prompt.strip()
    if not prompt:
        raise InputError("The prompt is empty. Describe the image you want.", field="prompt")
    if len(prompt) > spec.max_prompt_chars:
        raise InputError(
            f"The prompt is {len(prompt):,} characters; {spec.model_id} takes at most "
            f"{spec.max_prompt_chars:,}. Shorten it.",
            field="prompt",
        )
    max_n = min(spec.max_n, MAX_IMAGES_PER_JOB)
    if not 1 <= request.n <= max_n:
        raise InputError(f"`n` must be between 1 and {max_n} (got {request.n}).", field="n")
    if len(request.references) > spec.max_references:
        raise InputError(
            f"{len(request.references)} reference images were attached; "
            f"{spec.model_id} takes at most {spec.max_references}.",
            field="references",
        )
    if request.quality is not None and not spec.supports_quality:
        raise InputError(
            f"This server's model ({spec.model_id}) does not take a quality setting. "
            "Leave `quality` out.",
            field="quality",
        )
    if request.compression is not None:
        if request.output_format is not OutputFormat.JPEG:
            raise InputError(
                "`compression` only applies to JPEG. "
                "Set `format` to jpeg, or leave compression out.",
                field="compression",
            )
        if not 0 <= request.compression <= 100:
            raise InputError(
                f"`compression` must be between 0 and 100 (got {request.compression}).",
                field="compression",
            )

    tiers = spec.tiers_for(request.ratio)
    if not tiers:
        raise InputError(
            f"{spec.model_id} does not offer the {request.ratio} ratio.", field="ratio"
        )
    resolution = request.resolution or tiers[0]
    size = spec.size_for(request.ratio, resolution)
    if size is None:
        offered_tiers = ", ".join(tiers)
        offered_ratios = ", ".join(spec.ratios_for(resolution)) or "none"
        raise InputError(
            f"{request.ratio} is not available at {resolution}. For {request.ratio} pick "
            f"{offered_tiers}; at {resolution} pick one of: {offered_ratios}.",
            field="resolution",
        )
    width, height = size
    return ResolvedRequest(
        request=request.model_copy(update={"prompt": prompt}),
        resolution=resolution,
        width=width,
        height=height,
    )
