"""Check a request against what the model allows, before any upstream spend.

Discord only checks option ranges in its client (discord.py passes out-of-range values through),
and the command line checks nothing, so every limit is checked again here. Each refusal says what
was wrong and what to send instead.
"""

from __future__ import annotations

from bot.errors import InputError
from bot.i18n import Text, _, _n
from bot.jobs.models import JobRequest, ResolvedRequest
from bot.options import OutputFormat, Ratio
from bot.providers.catalog import ModelSpec, Size
from bot.text import is_blank, visible_text

MAX_IMAGES_PER_JOB = 10


def spec_for(request: JobRequest, spec: ModelSpec) -> ModelSpec:
    """The model a request goes to: edits go to the spec's editing model.

    So do references on APIs that take input images only on their edit endpoint (the
    OpenAI-compatible ones): their limits, such as InfinityBlue's 1,000-character edit prompt,
    apply.
    """
    if request.edit or (request.references and spec.references_via_edit):
        return spec.for_edit()
    return spec


def validate_request(
    request: JobRequest, spec: ModelSpec, *, max_prompt_chars: int | None = None
) -> ResolvedRequest:
    """Return the request with its exact output size, or raise InputError saying what to change.

    Edits are checked against the editing model (``ModelSpec.for_edit``). With ``ratio=auto`` the
    size is a square estimate until ``resolve_auto`` sees the first image. ``max_prompt_chars``
    is the limit the member's input declared (a Discord option or form field), if lower than
    the model's. The returned prompt is the cleaned one (``clean_prompt``).
    """
    spec = spec_for(request, spec)
    prompt = clean_prompt(request.prompt, spec, max_prompt_chars)
    max_n = min(spec.max_n, MAX_IMAGES_PER_JOB)
    if not 1 <= request.n <= max_n:
        raise InputError(
            _(
                "The number of images must be between 1 and {max} (got {got}).",
                max=max_n,
                got=request.n,
            ),
            field="n",
        )
    if len(request.references) > spec.max_references:
        raise InputError(
            _n(
                "{count} reference image was attached; {model} takes at most {max}.",
                "{count} reference images were attached; {model} takes at most {max}.",
                len(request.references),
                model=spec.model_id,
                max=spec.max_references,
            ),
            field="references",
        )
    _check_edit(request, spec)
    if request.quality is not None and not spec.supports_quality:
        raise InputError(
            _("The model {model} does not take a quality setting.", model=spec.model_id),
            field="quality",
            member_hint=_("Leave `quality` out."),
            operator_hint="Leave --quality out.",
        )
    if request.compression is not None:
        if request.output_format is not OutputFormat.JPEG:
            raise InputError(
                _("Compression only applies to JPEG."),
                field="compression",
                member_hint=_("Set `format` to jpeg, or leave `compression` out."),
                operator_hint="Add --format jpeg, or leave --compression out.",
            )
        if not 0 <= request.compression <= 100:
            raise InputError(
                _("Compression must be between 0 and 100 (got {got}).", got=request.compression),
                field="compression",
            )

    tiers = spec.tiers_for(request.ratio)
    if not tiers:
        if request.ratio is Ratio.AUTO:
            raise InputError(
                _(
                    "The auto ratio is only offered for edits: {model} needs a fixed ratio.",
                    model=spec.model_id,
                ),
                field="ratio",
                member_hint=_("Pick a `ratio`, e.g. 1:1."),
                operator_hint="Pass --ratio, e.g. --ratio 1:1.",
            )
        raise InputError(
            _(
                "{model} does not make {ratio} images; it makes {offered}.",
                model=spec.model_id,
                ratio=str(request.ratio),
                offered=spec.offered(),
            ),
            field="ratio",
            member_hint=_("Pick one of those ratios."),
            operator_hint="Pass one of those ratios with --ratio.",
        )
    resolution = request.resolution or tiers[0]
    if request.ratio is Ratio.AUTO:
        width, height = spec.auto_size(resolution, None)
        return ResolvedRequest(
            request=request.model_copy(update={"prompt": prompt}),
            resolution=resolution,
            width=width,
            height=height,
        )
    size = spec.size_for(request.ratio, resolution)
    if size is None:
        offered_ratios = ", ".join(spec.ratios_for(resolution))
        at_tier = (
            _("at {resolution} pick one of: {ratios}", resolution=resolution, ratios=offered_ratios)
            if offered_ratios
            else _("{model} has no {resolution} sizes", model=spec.model_id, resolution=resolution)
        )
        raise InputError(
            _(
                "{ratio} is not available at {resolution}. For {ratio} pick {tiers}; {at_tier}.",
                ratio=str(request.ratio),
                resolution=str(resolution),
                tiers=", ".join(tiers),
                at_tier=at_tier,
            ),
            field="resolution",
        )
    width, height = size
    return ResolvedRequest(
        request=request.model_copy(update={"prompt": prompt}),
        resolution=resolution,
        width=width,
        height=height,
    )


def clean_prompt(prompt: str, spec: ModelSpec, max_chars: int | None = None) -> str:
    """The prompt as it reads on screen, trimmed, or InputError if it is blank or too long.

    Done once, at acceptance: the blocked-term check, the stored job, the image API and every
    message showing the prompt then see the same text, with no direction override that makes
    it read differently and no invisible character (``bot.text.visible_text``).
    """
    cleaned = visible_text(prompt).strip()
    if is_blank(cleaned):
        if prompt.strip():
            raise InputError(
                _(
                    "The prompt is empty (it has only invisible characters). "
                    "Describe the image you want."
                ),
                field="prompt",
            )
        raise InputError(_("The prompt is empty. Describe the image you want."), field="prompt")
    if max_chars is not None and max_chars < spec.max_prompt_chars and len(cleaned) > max_chars:
        raise InputError(
            _(
                "The prompt is {length} characters; prompts here can be at most {max}. Shorten it.",
                length=len(cleaned),
                max=max_chars,
            ),
            field="prompt",
        )
    if len(cleaned) > spec.max_prompt_chars:
        raise InputError(
            _(
                "The prompt is {length} characters; {model} takes at most {max}. Shorten it.",
                length=len(cleaned),
                model=spec.model_id,
                max=spec.max_prompt_chars,
            ),
            field="prompt",
        )
    return cleaned


def _check_edit(request: JobRequest, spec: ModelSpec) -> None:
    """Edits need an image; a mask needs an edit and a model that takes masks."""
    if request.edit and not request.references:
        raise InputError(
            _("An edit needs at least one image."),
            field="references",
            member_hint=_("Attach the image to change."),
            operator_hint="Pass the image to change with --image.",
        )
    if request.mask is None:
        return
    if not request.edit:
        raise InputError(
            _("A mask only applies to edits."),
            field="mask",
            member_hint=_("Use /edit to repaint part of an image."),
            operator_hint="Add --edit to repaint part of the first --image.",
        )
    if not spec.supports_mask and spec.mask_refusal:
        # A shipped profile's sentence is in the catalogs (bot.providers.profiles.SHIPPED_TEXT);
        # an admin's own is shown as written.
        raise InputError(
            Text(id=spec.mask_refusal),
            field="mask",
            member_hint=_(
                "Leave the mask out and say in the prompt what to change (or ask an "
                "admin to use a provider that honours masks)."
            ),
            operator_hint="Leave --mask out and say in the prompt what to change, or put a "
            "provider that honours masks first in IMAGE_PROVIDERS.",
        )
    if not spec.supports_mask:
        raise InputError(
            _("The editing model {model} does not take a mask.", model=spec.model_id),
            field="mask",
            member_hint=_(
                "Leave the mask out, or ask an admin to set IMAGE_EDIT_MODEL to an official model."
            ),
            operator_hint="Leave --mask out, or set IMAGE_EDIT_MODEL to an official model "
            "(gpt-image-2-official).",
        )


def resolve_auto(resolved: ResolvedRequest, spec: ModelSpec, first_image: Size) -> ResolvedRequest:
    """Replace the square estimate of an ``auto`` request by the size nearest the first image."""
    if resolved.request.ratio is not Ratio.AUTO:
        return resolved
    width, height = spec_for(resolved.request, spec).auto_size(resolved.resolution, first_image)
    return resolved.model_copy(update={"width": width, "height": height})
