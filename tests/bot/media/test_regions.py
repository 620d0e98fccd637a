"""Region masks at the image's exact size, previews for choosing, all built off the event loop."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from bot.errors import InputError
from bot.i18n import source_lang
from bot.media import regions
from bot.media.inputs import prepare_mask
from bot.media.regions import (
    CELLS,
    PRESETS,
    describe_regions,
    parse_regions,
    pixel_boxes,
    region_mask,
    region_preview,
)
from tests.bot.media.images import encode, jpeg_with_orientation


def alpha_of(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.mode) == ("PNG", "RGBA")
    return image.getchannel("A")


async def test_the_mask_has_the_exact_size_and_is_transparent_only_in_the_area() -> None:
    alpha = alpha_of(await region_mask((1001, 667), ("left",)))
    assert alpha.size == (1001, 667)
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((499, 666)) == 0
    assert alpha.getpixel((501, 0)) == 255 and alpha.getpixel((1000, 666)) == 255


async def test_the_nine_cells_tile_the_image_without_gaps_or_overlap() -> None:
    size = (1000, 701)  # sides not divisible by three
    alpha = alpha_of(await region_mask(size, tuple(CELLS)))
    assert alpha.getextrema() == (0, 0)
    covered = sum(
        (right - left) * (bottom - top)
        for left, top, right, bottom in pixel_boxes(tuple(CELLS), size)
    )
    assert covered == size[0] * size[1]


async def test_the_border_keeps_the_middle() -> None:
    alpha = alpha_of(await region_mask((500, 500), ("border",)))
    assert alpha.getpixel((250, 250)) == 255 and alpha.getpixel((10, 250)) == 0
    assert alpha.getpixel((250, 490)) == 0


async def test_a_region_mask_is_a_valid_mask_as_it_is() -> None:
    data = await region_mask((640, 480), ("centre", "cell1"))
    prepared = await prepare_mask(data, target_size=(640, 480), filename="region_mask.png")
    assert prepared.note is None
    assert alpha_of(prepared.data).getpixel((320, 240)) == 0


def test_areas_are_parsed_in_catalogue_order_and_unknown_ones_refused() -> None:
    assert parse_regions(["cell9", "left", "cell9"]) == ("left", "cell9")
    assert source_lang().value(describe_regions(("left", "cell9"))) == (
        "Left half + Cell 9 · bottom right"
    )
    with pytest.raises(InputError, match="Unknown area"):
        parse_regions(["sky"])
    with pytest.raises(InputError, match="at least one"):
        parse_regions([])


def test_every_option_fits_a_select_menu() -> None:
    options = {**PRESETS, **CELLS}
    assert len(options) <= 25
    for key, region in options.items():
        assert len(key) <= 100 and 1 <= len(str(region.label)) <= 100
        assert len(str(region.description)) <= 100


async def test_the_preview_is_small_upright_and_tints_the_area() -> None:
    photo = jpeg_with_orientation(Image.new("RGB", (1200, 800), (0, 128, 0)), 6)
    preview = await region_preview(photo, "phone.jpg", ("top",))
    assert preview.source_size == (800, 1200)  # EXIF applied
    assert (preview.width, preview.height) == (341, 512)
    image = Image.open(io.BytesIO(preview.data)).convert("RGB")
    top, bottom = image.getpixel((170, 60)), image.getpixel((170, 450))
    assert top[0] > 80  # magenta tint over green
    assert bottom[1] < 128  # kept part dimmed


async def test_the_preview_of_a_corrupt_file_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"`x\.png`"):
        await region_preview(b"\x89PNG\r\n\x1a\nnope", "x.png")


async def test_pillow_work_runs_in_the_media_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = regions._region_mask

    def spy(size: tuple[int, int], keys: tuple[str, ...]) -> bytes:
        seen.append(threading.current_thread().name)
        return original(size, keys)

    monkeypatch.setattr(regions, "_region_mask", spy)
    await region_mask((64, 64), ("left",))
    await region_preview(encode(Image.new("RGB", (64, 64)), "PNG"), "a.png")
    assert seen and all(name.startswith("easel-media") for name in seen)
