"""Provider profiles: shipped as data, validated, overridable, and turned into model specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError, InputError
from bot.jobs.models import InputImage, JobRequest
from bot.jobs.validation import validate_request
from bot.options import Quality, Ratio, Resolution
from bot.providers.families import capabilities, model_spec
from bot.providers.profiles import load_profiles

IMAGE = InputImage(filename="a.png", data=b"")


def test_every_seeded_api_ships_as_a_profile() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"toapis", "infinityblue", "starrise", "anyfast", "openai"}
    assert profiles["infinityblue"].edit_transport == "json"
    assert profiles["starrise"].edit_transport == "multipart"
    assert profiles["openai"].streaming and profiles["openai"].partial_images == 2
    assert profiles["starrise"].base_url == "https://ai.alad.com"


def test_toapis_profile_builds_the_same_spec_as_before() -> None:
    spec = model_spec(load_profiles()["toapis"], "gpt-image-2", "gpt-image-2-official")
    assert spec.size_for(Ratio.WIDE_16_9, Resolution.R2K) == (2048, 1152)
    assert spec.size_for(Ratio.LANDSCAPE_4_3, Resolution.R1K) is None  # the seed table
    assert spec.for_edit().model_id == "gpt-image-2-official" and spec.free_sizes is None


def test_free_size_providers_offer_every_ratio_at_every_tier() -> None:
    spec = model_spec(load_profiles()["openai"])
    assert spec.size_for(Ratio.LANDSCAPE_4_3, Resolution.R1K) == (1024, 768)
    assert spec.size_for(Ratio.SQUARE, Resolution.R4K) == (2880, 2880)
    resolved = validate_request(JobRequest(prompt="x", ratio=Ratio.TALL_9_16), spec)
    assert (resolved.width, resolved.height) == (864, 1536)


def test_infinityblue_edits_take_at_most_1000_characters() -> None:
    spec = model_spec(load_profiles()["infinityblue"])
    long_prompt = "word " * 300
    validate_request(JobRequest(prompt=long_prompt), spec)  # generations take 32,000
    with pytest.raises(InputError, match="1,000"):
        validate_request(JobRequest(prompt=long_prompt, edit=True, references=(IMAGE,)), spec)
    with pytest.raises(InputError, match="1,000"):  # references go to the edit endpoint too
        validate_request(JobRequest(prompt=long_prompt, references=(IMAGE,)), spec)


def test_a_mask_on_infinityblue_is_refused_with_the_reason() -> None:
    spec = model_spec(load_profiles()["infinityblue"])
    request = JobRequest(prompt="x", edit=True, references=(IMAGE,), mask=IMAGE)
    with pytest.raises(InputError) as caught:
        validate_request(request, spec)
    assert "ignores masks" in caught.value.user_message
    assert caught.value.field == "mask"
    starrise = model_spec(load_profiles()["starrise"])
    validate_request(request, starrise)  # Starrise honours masks


def test_quality_is_refused_where_the_api_has_no_tiers() -> None:
    spec = model_spec(load_profiles()["infinityblue"])
    with pytest.raises(InputError, match="quality"):
        validate_request(JobRequest(prompt="x", quality=Quality.HIGH), spec)
    validate_request(
        JobRequest(prompt="x", quality=Quality.HIGH), model_spec(load_profiles()["openai"])
    )


def test_model_overrides_change_one_model_only() -> None:
    starrise = load_profiles()["starrise"]
    assert starrise.caps("gpt-image-2").native_n
    assert not starrise.caps("gpt-image-2-c").native_n


def test_auto_edits_on_free_sizes_keep_the_first_images_shape() -> None:
    edit = model_spec(load_profiles()["starrise"]).for_edit()
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
    blue = capabilities(profiles["infinityblue"], model_spec(profiles["infinityblue"]))
    assert "Easel loops" in blue["n"] and "JSON" in blue["edits"] and "1,000" in blue["edits"]
    assert blue["mask"].startswith("no") and blue["quality"].startswith("no")
    openai = capabilities(profiles["openai"], model_spec(profiles["openai"]))
    assert "2 preview" in openai["delivery"] and "multipart" in openai["edits"]
    toapis = capabilities(profiles["toapis"], model_spec(profiles["toapis"]))
    assert toapis["sizes"].startswith("ratio table") and "polled" in toapis["delivery"]


# Each shipped model's sizes, as upstream-apis.md states them. Every model a profile lists must
# be here, so a model added to profiles.toml is checked against the docs before it ships.
_FIXED_1K = {"1:1": (1024, 1024), "3:2": (1536, 1024), "2:3": (1024, 1536)}
DOCUMENTED_SIZES: dict[tuple[str, str], str | dict[str, tuple[int, int]]] = {
    ("toapis", "gpt-image-2"): "seed table",  # §1.3.1 (IMAGE_SIZE_TABLE=extended: the mirror)
    ("toapis", "gpt-image-2-vip"): "seed table",  # §1.3.2: the fields of gpt-image-2
    ("toapis", "gpt-image-2-official"): "official table",  # §1.3.3, seeds 000/002
    ("toapis", "gpt-image-1.5-official"): "official table",
    ("infinityblue", "gpt-image-2"): "free",  # §2
    ("starrise", "gpt-image-2"): "free",  # §3, seed 004
    ("starrise", "gpt-image-2-c"): "free",
    ("anyfast", "gpt-image-2"): "free",
    ("anyfast", "gpt-image-2-c"): "free",
    ("openai", "gpt-image-2"): "free",  # §4.1: any WxH within the rules
    ("openai", "gpt-image-2-2026-04-21"): "free",
    ("openai", "gpt-image-1.5"): _FIXED_1K,  # §4.1: 1024x1024, 1536x1024, 1024x1536, auto
    ("openai", "gpt-image-1"): _FIXED_1K,
}


def test_every_shipped_model_takes_the_sizes_its_docs_list() -> None:
    profiles = load_profiles()
    listed = {(name, model) for name, p in profiles.items() for model in (p.model, *p.models)}
    assert listed == set(DOCUMENTED_SIZES)
    for (name, model), documented in DOCUMENTED_SIZES.items():
        spec = model_spec(profiles[name], model, model)
        table = {
            tier: {str(ratio): size for ratio, size in sizes.items()}
            for tier, sizes in spec.sizes.items()
            if sizes
        }
        if documented == "free":
            assert spec.free_sizes is not None, model
        elif documented == "seed table":
            assert spec.free_sizes is None and len(table[Resolution.R1K]) == 3, model
            assert not spec.supports_auto_ratio, model
        elif documented == "official table":
            assert len(table[Resolution.R1K]) == 13 and len(table[Resolution.R2K]) == 13, model
            assert table[Resolution.R1K]["16:9"] == (1536, 864)
            assert set(table[Resolution.R4K]) == {"16:9", "9:16", "2:1", "1:2", "21:9", "9:21"}
            assert spec.supports_auto_ratio and spec.supports_mask, model
        else:
            assert spec.free_sizes is None and table == {Resolution.R1K: documented}, model


@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-1.5"])
def test_older_openai_models_refuse_sizes_they_do_not_make_naming_the_ones_they_do(
    model: str,
) -> None:
    spec = model_spec(load_profiles()["openai"], model)
    with pytest.raises(InputError) as caught:
        validate_request(JobRequest(prompt="x", ratio=Ratio.WIDE_16_9), spec)
    message = caught.value.for_member()
    assert caught.value.field == "ratio" and f"{model} does not make 16:9" in message
    assert "1:1 (1024x1024), 3:2 (1536x1024), 2:3 (1024x1536) at 1K" in message
    with pytest.raises(InputError, match=f"{model} has no 2K sizes"):
        validate_request(JobRequest(prompt="x", resolution=Resolution.R2K), spec)
    resolved = validate_request(JobRequest(prompt="x", ratio=Ratio.PORTRAIT_2_3), spec)
    assert (resolved.width, resolved.height) == (1024, 1536)


def test_auto_on_a_model_with_listed_sizes_picks_the_nearest_listed_one() -> None:
    edit = model_spec(load_profiles()["openai"], "gpt-image-1").for_edit()
    assert edit.auto_size(Resolution.R1K, (1920, 1080)) == (1536, 1024)
    assert edit.auto_size(Resolution.R1K, (1000, 1100)) == (1024, 1024)


def test_sizes_can_be_listed_per_model_in_a_profiles_file(tmp_path: Path) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text(
        '[starrise.model_overrides."gpt-image-2-c"]\nsizes = ["1024x1024", "2048x1152"]\n'
    )
    starrise = load_profiles(extra)["starrise"]
    narrow = model_spec(starrise, "gpt-image-2-c")
    assert narrow.size_for(Ratio.WIDE_16_9, Resolution.R2K) == (2048, 1152)
    assert narrow.size_for(Ratio.WIDE_16_9, Resolution.R1K) is None
    assert narrow.size_problem(1536, 1024) is not None
    assert model_spec(starrise, "gpt-image-2").free_sizes is not None  # the other keeps its rules


@pytest.mark.parametrize(
    ("sizes", "words"),
    [
        ('["1000x1024"]', "none of the ratios"),
        ('["big"]', "not WxH"),
        ('["1024x1024", "1040x1040"]', "both 1:1 at 1K"),
        ('"toapis-vip"', "sizes"),
    ],
)
def test_a_bad_size_list_is_one_config_error(tmp_path: Path, sizes: str, words: str) -> None:
    extra = tmp_path / "profiles.toml"
    extra.write_text(f'[openai.model_overrides."gpt-image-1"]\nsizes = {sizes}\n')
    with pytest.raises(ConfigError) as caught:
        load_profiles(extra)
    assert words in str(caught.value)
