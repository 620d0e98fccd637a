"""Provider profiles: shipped as data, validated, overridable, and turned into model specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError, InputError
from bot.jobs.models import InputImage, JobRequest
from bot.jobs.validation import validate_request
from bot.options import Quality, Ratio, Resolution
from bot.providers.profiles import capabilities, load_profiles

IMAGE = InputImage(filename="a.png", data=b"")


def test_every_seeded_api_ships_as_a_profile() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"toapis", "infinityblue", "starrise", "anyfast", "openai"}
    assert profiles["infinityblue"].edit_transport == "json"
    assert profiles["starrise"].edit_transport == "multipart"
    assert profiles["openai"].streaming and profiles["openai"].partial_images == 2
    assert profiles["starrise"].base_url == "https://ai.alad.com"


def test_toapis_profile_builds_the_same_spec_as_before() -> None:
    spec = load_profiles()["toapis"].spec("gpt-image-2", "gpt-image-2-official")
    assert spec.size_for(Ratio.WIDE_16_9, Resolution.R2K) == (2048, 1152)
    assert spec.size_for(Ratio.LANDSCAPE_4_3, Resolution.R1K) is None  # the seed table
    assert spec.for_edit().model_id == "gpt-image-2-official" and spec.free_sizes is None


def test_free_size_providers_offer_every_ratio_at_every_tier() -> None:
    spec = load_profiles()["openai"].spec()
    assert spec.size_for(Ratio.LANDSCAPE_4_3, Resolution.R1K) == (1024, 768)
    assert spec.size_for(Ratio.SQUARE, Resolution.R4K) == (2880, 2880)
    resolved = validate_request(JobRequest(prompt="x", ratio=Ratio.TALL_9_16), spec)
    assert (resolved.width, resolved.height) == (864, 1536)


def test_infinityblue_edits_take_at_most_1000_characters() -> None:
    spec = load_profiles()["infinityblue"].spec()
    long_prompt = "word " * 300
    validate_request(JobRequest(prompt=long_prompt), spec)  # generations take 32,000
    with pytest.raises(InputError, match="1,000"):
        validate_request(JobRequest(prompt=long_prompt, edit=True, references=(IMAGE,)), spec)
    with pytest.raises(InputError, match="1,000"):  # references go to the edit endpoint too
        validate_request(JobRequest(prompt=long_prompt, references=(IMAGE,)), spec)


def test_a_mask_on_infinityblue_is_refused_with_the_reason() -> None:
    spec = load_profiles()["infinityblue"].spec()
    request = JobRequest(prompt="x", edit=True, references=(IMAGE,), mask=IMAGE)
    with pytest.raises(InputError) as caught:
        validate_request(request, spec)
    assert "ignores masks" in caught.value.user_message
    assert caught.value.field == "mask"
    starrise = load_profiles()["starrise"].spec()
    validate_request(request, starrise)  # Starrise honours masks


def test_quality_is_refused_where_the_api_has_no_tiers() -> None:
    spec = load_profiles()["infinityblue"].spec()
    with pytest.raises(InputError, match="quality"):
        validate_request(JobRequest(prompt="x", quality=Quality.HIGH), spec)
    validate_request(JobRequest(prompt="x", quality=Quality.HIGH), load_profiles()["openai"].spec())


def test_model_overrides_change_one_model_only() -> None:
    starrise = load_profiles()["starrise"]
    assert starrise.caps("gpt-image-2").native_n
    assert not starrise.caps("gpt-image-2-c").native_n


def test_auto_edits_on_free_sizes_keep_the_first_images_shape() -> None:
    edit = load_profiles()["starrise"].spec().for_edit()
    width, height = edit.auto_size(Resolution.R1K, (1200, 800))
    assert abs(width / height - 1.5) < 0.03 and edit.free_sizes is not None
    assert edit.free_sizes.allows(width, height)


def test_a_profiles_file_changes_and_adds_fields(tmp_path: Path) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text(
        '[starrise]\nnative_n = false\n\n[openai]\nbase_url = "https://gateway.example/v1"\n'
        "partial_images = 3\n"
    )
    profiles = load_profiles(extra)
    assert not profiles["starrise"].native_n and profiles["starrise"].mask  # rest kept
    assert profiles["openai"].base_url == "https://gateway.example/v1"
    assert profiles["openai"].partial_images == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[openai]\npartial_images = 9\n", "partial_images"),
        ("[openai]\nstreamign = true\n", "streamign"),
        ("[openai\n", "not valid TOML"),
        ("[mine]\nlabel = 'Mine'\n", "family"),
    ],
)
def test_a_bad_profiles_file_is_one_config_error(tmp_path: Path, text: str, words: str) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_profiles(extra)
    assert caught.value.setting == "IMAGE_PROFILES_FILE"
    assert words in str(caught.value)


def test_capabilities_describe_what_differs() -> None:
    profiles = load_profiles()
    blue = capabilities(profiles["infinityblue"], profiles["infinityblue"].spec())
    assert "Easel loops" in blue["n"] and "JSON" in blue["edits"] and "1,000" in blue["edits"]
    assert blue["mask"].startswith("no") and blue["quality"].startswith("no")
    openai = capabilities(profiles["openai"], profiles["openai"].spec())
    assert "2 preview" in openai["delivery"] and "multipart" in openai["edits"]
    toapis = capabilities(profiles["toapis"], profiles["toapis"].spec())
    assert toapis["sizes"].startswith("ratio table") and "polled" in toapis["delivery"]
