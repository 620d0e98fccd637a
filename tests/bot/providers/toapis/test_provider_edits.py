"""Edit bodies as the official-channel edit page documents them (seeds 000/002, §1.3.3)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.providers.base import TaskSpec
from bot.providers.families import toapis_model_spec
from bot.providers.toapis.provider import ToAPIsProvider


def provider(
    model: str = "gpt-image-2", edit_model: str | None = "gpt-image-2-official"
) -> ToAPIsProvider:
    spec = toapis_model_spec(model, edit_model=edit_model)
    return ToAPIsProvider("https://toapis.test", SecretStr("k"), spec)


def edit(**overrides: Any) -> TaskSpec:
    values: dict[str, Any] = {
        "prompt": "Replace the background with a starry sky",
        "ratio": Ratio.SQUARE,
        "resolution": Resolution.R1K,
        "width": 1024,
        "height": 1024,
        "edit": True,
        "reference_urls": ("https://files.test/a.png", "https://files.test/b.png"),
        "client_reference": "easel-1",
    }
    values.update(overrides)
    return TaskSpec(**values)


def test_an_edit_goes_to_the_edit_model_with_image_urls_and_mask_url() -> None:
    body = provider().generation_body(
        edit(
            mask_url="https://files.test/mask.png",
            quality=Quality.HIGH,
            output_format=OutputFormat.JPEG,
            compression=80,
            n=2,
        )
    )
    assert body == {
        "model": "gpt-image-2-official",
        "prompt": "Replace the background with a starry sky",
        "image_urls": ["https://files.test/a.png", "https://files.test/b.png"],
        "mask_url": "https://files.test/mask.png",
        "size": "1:1",
        "resolution": "1K",
        "quality": "high",
        "n": 2,
        "output_format": "jpeg",
        "output_compression": 80,
        "client_business_id": "easel-1",
    }


def test_the_seed_era_edit_model_is_a_setting_away() -> None:
    body = provider(edit_model="gpt-image-1.5-official").generation_body(edit())
    assert body["model"] == "gpt-image-1.5-official"
    assert body["image_urls"] == ["https://files.test/a.png", "https://files.test/b.png"]
    assert "reference_images" not in body and "mask_url" not in body


def test_auto_ratio_is_sent_as_auto() -> None:
    assert provider().generation_body(edit(ratio=Ratio.AUTO))["size"] == "auto"


def test_references_without_edit_stay_reference_images_on_the_plain_model() -> None:
    body = provider().generation_body(edit(edit=False))
    assert body["model"] == "gpt-image-2"
    assert body["reference_images"] == ["https://files.test/a.png", "https://files.test/b.png"]
    assert "image_urls" not in body


def test_an_official_generation_model_takes_its_references_as_image_urls() -> None:
    """The official page documents only ``image_urls``; ``reference_images`` is not sent to it."""
    body = provider("gpt-image-2-official").generation_body(edit(edit=False))
    assert body["model"] == "gpt-image-2-official"
    assert body["image_urls"] == ["https://files.test/a.png", "https://files.test/b.png"]


def test_a_mask_without_images_is_a_bug_not_a_request() -> None:
    with pytest.raises(ValueError, match="without references"):
        provider().generation_body(edit(reference_urls=(), mask_url="https://files.test/m.png"))
