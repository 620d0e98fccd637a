"""Edits are validated against the editing model, before any spend, with a message to act on."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.jobs.models import InputImage, JobRequest, ResolvedRequest
from bot.jobs.validation import resolve_auto, validate_request
from bot.options import Quality, Ratio, Resolution
from bot.providers.families import model_spec, toapis_model_spec
from bot.providers.profiles import load_profiles

SPEC = toapis_model_spec("gpt-image-2")  # edits go to gpt-image-2-official
IMAGE = InputImage(filename="a.png", data=b"")


def edit(**fields: object) -> JobRequest:
    return JobRequest.model_validate({"prompt": "make it night", "edit": True, **fields})


def refuse(request: JobRequest, field: str) -> str:
    with pytest.raises(InputError) as caught:
        validate_request(request, SPEC)
    assert caught.value.field == field
    return caught.value.user_message


def test_an_edit_is_checked_against_the_edit_model() -> None:
    """gpt-image-2 refuses quality; its editing model takes it."""
    assert "quality" in refuse(JobRequest(prompt="x", quality=Quality.HIGH), "quality")
    resolved = validate_request(edit(references=(IMAGE,), quality=Quality.HIGH), SPEC)
    assert resolved.request.quality is Quality.HIGH


def test_an_edit_without_an_image_is_refused() -> None:
    assert "at least one image" in refuse(edit(), "references")


def test_more_than_sixteen_images_are_refused() -> None:
    message = refuse(edit(references=(IMAGE,) * 17), "references")
    assert "17 reference images" in message and "at most 16" in message


def test_a_mask_needs_an_edit() -> None:
    message = refuse(JobRequest(prompt="x", references=(IMAGE,), mask=IMAGE), "mask")
    assert "only applies to edits" in message


def test_a_mask_needs_an_edit_model_that_takes_masks() -> None:
    plain = toapis_model_spec("gpt-image-2", edit_model=None)
    with pytest.raises(InputError, match="does not take a mask"):
        validate_request(edit(references=(IMAGE,), mask=IMAGE), plain)


def test_auto_is_only_for_models_that_document_it() -> None:
    message = refuse(JobRequest(prompt="x", ratio=Ratio.AUTO), "ratio")
    assert "auto ratio" in message and "only offered for edits" in message


def test_auto_starts_as_a_square_estimate_and_follows_the_first_image() -> None:
    resolved = validate_request(edit(references=(IMAGE,), ratio=Ratio.AUTO), SPEC)
    assert (resolved.resolution, resolved.width, resolved.height) == (Resolution.R1K, 1024, 1024)
    landscape = resolve_auto(resolved, SPEC, (1200, 790))
    assert (landscape.width, landscape.height) == (1536, 1024)
    portrait = resolve_auto(resolved, SPEC, (640, 1000))
    assert (portrait.width, portrait.height) == (1024, 1536)


@pytest.mark.parametrize(
    ("provider", "model", "tier", "expected"),
    [
        ("toapis", "gpt-image-2", Resolution.R1K, (1536, 864)),  # the official channel's 1K
        ("toapis", "gpt-image-2", Resolution.R2K, (2048, 1152)),
        ("starrise", "gpt-image-2", Resolution.R1K, (1360, 768)),  # free: the shape, snapped
        ("openai", "gpt-image-1", Resolution.R1K, (1536, 1024)),  # listed: the nearest of three
    ],
)
def test_auto_keeps_a_wide_inputs_shape_as_closely_as_the_provider_allows(
    provider: str, model: str, tier: Resolution, expected: tuple[int, int]
) -> None:
    spec = model_spec(load_profiles()[provider], model)
    resolved = validate_request(edit(references=(IMAGE,), ratio=Ratio.AUTO, resolution=tier), spec)
    wide = resolve_auto(resolved, spec, (1920, 1080))
    assert (wide.width, wide.height) == expected


def test_auto_at_4k_picks_among_the_wide_sizes() -> None:
    resolved = validate_request(
        edit(references=(IMAGE,), ratio=Ratio.AUTO, resolution=Resolution.R4K), SPEC
    )
    tall = resolve_auto(resolved, SPEC, (1000, 2000))
    assert (tall.width, tall.height) == (1920, 3840)


def test_resolve_auto_leaves_fixed_ratios_alone() -> None:
    resolved = ResolvedRequest(
        request=edit(references=(IMAGE,)), resolution=Resolution.R1K, width=1024, height=1024
    )
    assert resolve_auto(resolved, SPEC, (10, 1000)) == resolved
