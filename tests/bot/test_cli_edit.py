"""``python -m bot imagine PROMPT --image A --image B --mask M --out DIR`` runs an edit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.sandbox.server import Sandbox
from tests.bot.test_cli import run_cli

BLUE = (20, 60, 200)


@pytest.fixture
async def external_api() -> AsyncIterator[Sandbox]:
    async with Sandbox(api_key="sk-live-key", task_duration=0.3) as sandbox:
        yield sandbox


@pytest.fixture
def env(external_api: Sandbox) -> dict[str, str]:
    return {"IMAGE_API_BASE_URL": external_api.base_url, "IMAGE_API_KEY": "sk-live-key"}


def save(tmp_path: Path, name: str, image: Image.Image) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


def bottom_half_mask(size: tuple[int, int]) -> Image.Image:
    """Black and white, no alpha: white (the bottom half) is repainted."""
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, size[1] // 2, size[0], size[1]))
    return mask


async def test_an_edit_with_two_images_and_a_mask_writes_the_repainted_image(
    external_api: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    first = save(tmp_path, "room.png", Image.new("RGB", (1200, 800), BLUE))
    second = save(tmp_path, "lamp.webp", Image.new("RGB", (90, 90), "orange"))
    mask = save(tmp_path, "mask.png", bottom_half_mask((600, 400)))
    out = tmp_path / "out"
    code, stdout, stderr = await run_cli(
        "imagine", "a rug on the floor", "--image", first, "--image", second, "--mask", mask,
        "--out", str(out), env=env, tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    assert "edit of 2 image(s) by gpt-image-2-official" in stderr
    body = external_api.requests_to("submit")[0].body
    assert body["model"] == "gpt-image-2-official" and body["size"] == "auto"
    assert len(body["image_urls"]) == 2 and body["mask_url"]
    assert "reference_images" not in body
    [path] = [Path(line) for line in stdout.splitlines()]
    with Image.open(path) as image:
        picture = image.convert("RGB")
    assert picture.size == (1536, 1024)  # auto: the 3:2 size nearest 1200x800
    assert picture.getpixel((700, 200)) == BLUE  # top half kept
    assert picture.getpixel((700, 900)) != BLUE  # bottom half repainted


async def test_an_edit_of_a_wide_photo_keeps_its_shape_and_its_pixels_unsquashed(
    external_api: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    """``auto`` (the edit default) on a 16:9 photo: 16:9 back, the kept square still square."""
    photo = Image.new("RGB", (1920, 1080), BLUE)
    photo.paste((0, 0, 0), (1200, 200, 1380, 380))  # in the top half, which is kept
    first = save(tmp_path, "wide.png", photo)
    mask = save(tmp_path, "mask.png", bottom_half_mask(photo.size))
    code, stdout, stderr = await run_cli(
        "imagine", "a lake", "--image", first, "--mask", mask, "--out", str(tmp_path / "out"),
        env=env, tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    assert external_api.requests_to("submit")[0].body["size"] == "auto"
    [path] = [Path(line) for line in stdout.splitlines()]
    with Image.open(path) as image:
        picture = image.convert("RGB")
    assert picture.size == (1536, 864)
    dark = picture.crop((0, 0, 1536, 400)).convert("L").point(lambda v: 255 if v < 40 else 0)
    box = dark.getbbox()
    assert box is not None and box[2] - box[0] == box[3] - box[1] == 144  # 180 px at 0.8


async def test_the_edit_model_is_a_setting(
    external_api: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    image = save(tmp_path, "a.png", Image.new("RGB", (64, 64), BLUE))
    code, _, stderr = await run_cli(
        "imagine", "night", "--image", image, "--edit", "--ratio", "1:1", "--out", str(tmp_path),
        env={**env, "IMAGE_EDIT_MODEL": "gpt-image-1.5-official"}, tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    body = external_api.requests_to("submit")[0].body
    assert body["model"] == "gpt-image-1.5-official" and body["size"] == "1:1"


async def test_images_without_edit_stay_references_of_the_generation_model(
    external_api: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    image = save(tmp_path, "a.png", Image.new("RGB", (64, 64), BLUE))
    code, _, stderr = await run_cli(
        "imagine", "a cat", "--image", image, "--out", str(tmp_path), env=env, tmp_path=tmp_path
    )
    assert code == 0, stderr
    body = external_api.requests_to("submit")[0].body
    assert body["model"] == "gpt-image-2" and len(body["reference_images"]) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--mask", "MASK_WRONG_SHAPE", "--image", "IMAGE"], "must be 64x64 pixels"),
        (["--mask", "MASK_WRONG_SHAPE"], "at least one image"),
        (["--image", "BROKEN", "--edit"], "`broken.png`"),
        (["--image", "IMAGE", "--mask", "MISSING"], "cannot read --mask"),
    ],
)
async def test_bad_edit_inputs_give_one_line_and_no_upstream_call(
    external_api: Sandbox, env: dict[str, str], tmp_path: Path, args: list[str], expected: str
) -> None:
    files = {
        "IMAGE": save(tmp_path, "a.png", Image.new("RGB", (64, 64), BLUE)),
        "MASK_WRONG_SHAPE": save(tmp_path, "m.png", bottom_half_mask((64, 32))),
        "BROKEN": str(tmp_path / "broken.png"),
        "MISSING": str(tmp_path / "missing.png"),
    }
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    code, stdout, stderr = await run_cli(
        "imagine", "x", *(files.get(a, a) for a in args), "--out", str(tmp_path),
        env=env, tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 1 and stdout == ""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], stderr
    assert len(external_api.requests) == 0
