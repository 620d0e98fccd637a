"""Validation refuses, before any spend, everything the model cannot do, and says what to change."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.jobs.models import InputImage, JobRequest
from bot.jobs.validation import validate_request
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.providers.catalog import ModelSpec
from bot.providers.families import model_spec, toapis_model_spec
from bot.providers.profiles import load_profiles

SPEC = toapis_model_spec("gpt-image-2")


def refuse(request: JobRequest, field: str) -> str:
    with pytest.raises(InputError) as caught:
        validate_request(request, SPEC)
    assert caught.value.field == field
    return caught.value.user_message


def test_resolves_exact_size_from_the_seed_table() -> None:
    resolved = validate_request(
        JobRequest(prompt="a lighthouse", ratio=Ratio.WIDE_16_9, resolution=Resolution.R2K), SPEC
    )
    assert (resolved.width, resolved.height) == (2048, 1152)


def test_missing_resolution_picks_the_smallest_tier_offering_the_ratio() -> None:
    assert validate_request(JobRequest(prompt="x"), SPEC).resolution is Resolution.R1K
    wide = validate_request(JobRequest(prompt="x", ratio=Ratio.WIDE_16_9), SPEC)
    assert (wide.resolution, wide.width, wide.height) == (Resolution.R2K, 2048, 1152)


def test_prompt_is_trimmed() -> None:
    assert validate_request(JobRequest(prompt="  cat  "), SPEC).request.prompt == "cat"


def test_blank_prompt_is_refused() -> None:
    assert "empty" in refuse(JobRequest(prompt="   "), "prompt")


def test_overlong_prompt_names_the_limit() -> None:
    message = refuse(JobRequest(prompt="a" * 32_001), "prompt")
    assert "32,000" in message and "32,001" in message


@pytest.mark.parametrize("n", [0, 11, -3])
def test_image_count_outside_1_to_10_is_refused(n: int) -> None:
    assert "between 1 and 10" in refuse(JobRequest(prompt="x", n=n), "n")


def test_ratio_unavailable_at_tier_lists_what_is_offered() -> None:
    message = refuse(
        JobRequest(prompt="x", ratio=Ratio.SQUARE, resolution=Resolution.R4K), "resolution"
    )
    assert "1:1 is not available at 4K" in message
    assert "1K, 2K" in message
    assert "16:9" in message


def test_extended_table_offers_square_at_4k() -> None:
    spec = toapis_model_spec("gpt-image-2", "extended")
    resolved = validate_request(JobRequest(prompt="x", resolution=Resolution.R4K), spec)
    assert (resolved.width, resolved.height) == (2880, 2880)


def test_quality_is_refused_where_the_model_does_not_document_it() -> None:
    assert "quality" in refuse(JobRequest(prompt="x", quality=Quality.HIGH), "quality")


def test_quality_is_accepted_by_the_vip_model() -> None:
    spec = toapis_model_spec("gpt-image-2-vip")
    assert validate_request(JobRequest(prompt="x", quality=Quality.HIGH), spec).request.quality


def test_compression_needs_jpeg() -> None:
    assert "JPEG" in refuse(JobRequest(prompt="x", compression=80), "compression")


def test_compression_outside_0_to_100_is_refused() -> None:
    request = JobRequest(prompt="x", output_format=OutputFormat.JPEG, compression=101)
    assert "between 0 and 100" in refuse(request, "compression")


def test_more_than_sixteen_references_are_refused() -> None:
    images = tuple(InputImage(filename=f"{i}.png", data=b"") for i in range(17))
    assert "at most 16" in refuse(JobRequest(prompt="x", references=images), "references")


def refuse_with_limit(request: JobRequest, max_prompt_chars: int) -> str:
    with pytest.raises(InputError) as caught:
        validate_request(request, SPEC, max_prompt_chars=max_prompt_chars)
    assert caught.value.field == "prompt"
    return caught.value.user_message


@pytest.mark.parametrize(
    "prompt",
    [
        "\u200b",  # zero-width space
        "\u200c\u200d",  # zero-width non-joiner and joiner
        "\u2060 \ufeff",  # word joiner, zero-width no-break space
        "  \u200b\u200b  ",
        "\u3164\u3164",  # Hangul fillers, which render as blank space
        "\U000e0041\U000e0042",  # tag characters
        "\u202e\u202c",  # a direction override around nothing
    ],
)
def test_a_prompt_of_only_invisible_characters_is_refused_like_a_blank_one(prompt: str) -> None:
    message = refuse(JobRequest(prompt=prompt), "prompt")
    assert "empty" in message and "invisible" in message


def test_a_direction_override_is_resolved_into_the_prompt_as_it_reads() -> None:
    resolved = validate_request(JobRequest(prompt="a \u202edrowdab\u202c dog"), SPEC)
    assert resolved.request.prompt == "a badword dog"


def test_invisible_characters_are_removed_from_the_prompt() -> None:
    prompt = "\u200ba red\u2060 fox\u00ad \u2066in snow\u2069\U000e0041"
    assert validate_request(JobRequest(prompt=prompt), SPEC).request.prompt == "a red fox in snow"


def test_emoji_sequences_keep_their_joiners() -> None:
    prompt = "a 👩\u200d💻 at a desk under a 🏳️\u200d🌈"
    assert validate_request(JobRequest(prompt=prompt), SPEC).request.prompt == prompt


def test_a_prompt_over_the_declared_limit_is_refused_naming_both_lengths() -> None:
    message = refuse_with_limit(JobRequest(prompt="a" * 6_001), 6_000)
    assert "6,000" in message and "6,001" in message


def test_a_prompt_at_the_declared_limit_is_accepted_without_counting_invisible_ones() -> None:
    request = JobRequest(prompt="a" * 6_000 + "\u200b" * 5)
    resolved = validate_request(request, SPEC, max_prompt_chars=6_000)
    assert len(resolved.request.prompt) == 6_000


def test_the_models_limit_applies_when_it_is_lower_than_the_declared_one() -> None:
    message = refuse_with_limit(JobRequest(prompt="a" * 32_001), 40_000)
    assert "gpt-image-2 takes at most 32,000" in message


_IMAGE = InputImage(filename="a.png", data=b"")
_BLUE = model_spec(load_profiles()["infinityblue"])
_GPT_IMAGE_1 = model_spec(load_profiles()["openai"], "gpt-image-1")
_NO_MASKS = toapis_model_spec("gpt-image-2", edit_model=None)


@pytest.mark.parametrize(
    ("request_", "spec", "flag"),
    [
        (JobRequest(prompt="x", quality=Quality.HIGH), SPEC, "--quality"),
        (JobRequest(prompt="x", compression=50), SPEC, "--format jpeg"),
        (JobRequest(prompt="x", ratio=Ratio.AUTO), SPEC, "--ratio"),
        (JobRequest(prompt="x", ratio=Ratio.WIDE_16_9), _GPT_IMAGE_1, "--ratio"),
        (JobRequest(prompt="x", references=(_IMAGE,), mask=_IMAGE), SPEC, "--edit"),
        (JobRequest(prompt="x", edit=True), SPEC, "--image"),
        (
            JobRequest(prompt="x", edit=True, references=(_IMAGE,), mask=_IMAGE),
            _BLUE,
            "--mask",
        ),
        (
            JobRequest(prompt="x", edit=True, references=(_IMAGE,), mask=_IMAGE),
            _NO_MASKS,
            "IMAGE_EDIT_MODEL",
        ),
    ],
)
def test_refusals_speak_to_the_member_in_discords_terms_and_to_the_operator_in_flags(
    request_: JobRequest, spec: ModelSpec, flag: str
) -> None:
    with pytest.raises(InputError) as caught:
        validate_request(request_, spec)
    operator, member = caught.value.for_operator(), caught.value.for_member()
    assert flag in operator
    for discord_words in ("`", "server", "admin", "/edit"):
        assert discord_words not in operator
    assert "--" not in member
