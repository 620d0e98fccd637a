"""Edit jobs end to end against the sandbox: inputs made right, then upload → submit as documented.

Every image here is a real file made with Pillow; every refusal is checked to cost no request.
"""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest
from PIL import Image

from bot.errors import InputError
from bot.jobs import pipeline
from bot.jobs.engine import Engine
from bot.jobs.models import InputImage, JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.media.limits import UPLOAD_MAX_BYTES
from bot.options import Ratio
from bot.sandbox.server import Sandbox
from tests.bot.media import images
from tests.bot.media.images import (
    animated_gif,
    bw_mask,
    encode,
    jpeg_with_orientation,
    noise,
    png_header,
)

BLUE = (20, 60, 200)


def image(data: bytes, name: str = "photo.png") -> InputImage:
    return InputImage(filename=name, data=data)


def solid(size: tuple[int, int], colour: tuple[int, int, int] = BLUE, fmt: str = "PNG") -> bytes:
    return images.solid(size, colour, fmt)


def edit(*images: InputImage, mask: InputImage | None = None, **fields: object) -> JobRequest:
    return JobRequest.model_validate(
        {"prompt": "turn it into night", "edit": True, "references": images, "mask": mask, **fields}
    )


async def run(engine: Engine, request: JobRequest) -> list[JobEvent]:
    return [event async for event in engine.run(request)]


async def fetch(session: aiohttp.ClientSession, url: str) -> Image.Image:
    async with session.get(url) as response:
        assert response.status == 200
        picture = Image.open(io.BytesIO(await response.read()))
        picture.load()
        return picture


def last(events: list[JobEvent]) -> JobEvent:
    assert events, "no events"
    return events[-1]


# ------------------------------------------------------------------ the happy path, as documented


async def test_a_masked_edit_uploads_images_and_mask_and_submits_them_as_documented(
    engine: Engine, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    request = edit(
        image(solid((1536, 1024)), "room.png"),
        image(solid((300, 300), (240, 140, 20), "JPEG"), "lamp.jpg"),
        mask=image(bw_mask((1536, 1024), (0, 0, 768, 1024)), "mask.png"),
        ratio=Ratio.LANDSCAPE_3_2,
    )
    events = await run(engine, request)
    done = last(events)
    assert isinstance(done, JobCompleted), done

    uploads = sandbox.requests_to("upload")
    assert [u.body["filename"] for u in uploads] == ["room.png", "lamp.jpg", "mask.png"]
    (submit,) = sandbox.requests_to("submit")
    body = submit.body
    assert body["model"] == "gpt-image-2-official"
    assert set(body) == {
        "model", "prompt", "size", "resolution", "n", "image_urls", "mask_url",
        "output_format", "client_business_id",
    }  # fmt: skip
    assert (body["size"], body["resolution"], body["n"], body["output_format"]) == (
        "3:2",
        "1K",
        1,
        "png",
    )
    assert len(body["image_urls"]) == 2 and all("/files/uploads/" in u for u in body["image_urls"])
    assert (await fetch(session, body["image_urls"][1])).format == "JPEG"  # order kept

    uploaded_mask = await fetch(session, body["mask_url"])
    assert (uploaded_mask.format, uploaded_mask.mode, uploaded_mask.size) == (
        "PNG",
        "RGBA",
        (1536, 1024),
    )
    alpha = uploaded_mask.getchannel("A")
    assert alpha.getpixel((100, 500)) == 0 and alpha.getpixel((1400, 500)) == 255  # white=repaint

    result = Image.open(io.BytesIO(done.images[0].data)).convert("RGB")
    assert result.size == (1536, 1024)
    assert result.getpixel((1200, 500)) == BLUE  # kept
    assert result.getpixel((200, 900)) != BLUE  # repainted


async def test_a_blend_sends_every_image_in_order_without_a_mask(
    engine: Engine, sandbox: Sandbox
) -> None:
    images = [image(solid((64, 64), (i * 20, 0, 0)), f"ref{i}.png") for i in range(5)]
    done = last(await run(engine, edit(*images, ratio=Ratio.SQUARE)))
    assert isinstance(done, JobCompleted), done
    body = sandbox.requests_to("submit")[0].body
    assert len(body["image_urls"]) == 5 and "mask_url" not in body
    assert [u.body["filename"] for u in sandbox.requests_to("upload")] == [
        f"ref{i}.png" for i in range(5)
    ]


async def test_auto_ratio_follows_the_first_image_and_is_sent_as_auto(
    engine: Engine, sandbox: Sandbox
) -> None:
    done = last(await run(engine, edit(image(solid((700, 1000))), ratio=Ratio.AUTO)))
    assert isinstance(done, JobCompleted), done
    assert sandbox.requests_to("submit")[0].body["size"] == "auto"
    assert (done.images[0].width, done.images[0].height) == (1024, 1536)


async def test_quality_format_and_compression_reach_the_official_model(
    engine: Engine, sandbox: Sandbox
) -> None:
    request = edit(image(solid((64, 64))), quality="low", output_format="jpeg", compression=60)
    done = last(await run(engine, request))
    assert isinstance(done, JobCompleted), done
    body = sandbox.requests_to("submit")[0].body
    assert (body["quality"], body["output_format"], body["output_compression"]) == (
        "low",
        "jpeg",
        60,
    )
    assert Image.open(io.BytesIO(done.images[0].data)).format == "JPEG"


async def test_the_stored_job_keeps_the_mask_as_a_file_not_in_the_request(
    engine: Engine, sandbox: Sandbox
) -> None:
    request = edit(image(solid((64, 64))), mask=image(bw_mask((64, 64), (0, 0, 32, 64)), "m.png"))
    resolved = engine.validate(request)
    job = await engine.accept(resolved, origin="cli", inputs=request.references)
    assert job.request.mask is not None and job.request.mask.data == b""
    assert [f.filename for f in job.inputs] == ["photo.png", "m.png"]
    assert "mask_" in job.inputs[1].path
    stored = await engine.get_job(job.id)
    assert stored is not None and stored.request.mask is not None and stored.request.edit


# ------------------------------------------------------------------ conversions


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (encode(Image.new("RGB", (80, 60), BLUE), "WEBP", lossless=True), "a.webp"),
        (animated_gif([BLUE, (255, 0, 0)], (80, 60)), "a.gif"),  # the first frame is used
        (encode(Image.new("RGB", (80, 60), BLUE), "BMP"), "a.bmp"),
        (encode(Image.new("RGB", (80, 60), BLUE), "TIFF"), "a.tiff"),
    ],
)
async def test_formats_the_api_does_not_take_are_converted_before_upload(
    engine: Engine, sandbox: Sandbox, session: aiohttp.ClientSession, data: bytes, name: str
) -> None:
    done = last(await run(engine, edit(image(data, name))))
    assert isinstance(done, JobCompleted), done
    (upload,) = sandbox.requests_to("upload")
    assert upload.body["filename"] == "a.png"
    sent = await fetch(session, sandbox.requests_to("submit")[0].body["image_urls"][0])
    assert (sent.format, sent.size) == ("PNG", (80, 60))
    red, _green, blue = sent.convert("RGB").getpixel((40, 30))  # type: ignore[misc]
    assert blue > 150 and red < 60


async def test_exif_orientation_is_applied_and_drives_auto(
    engine: Engine, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """A landscape-stored phone photo tagged "rotate 90°" is portrait for the API."""
    photo = jpeg_with_orientation(Image.new("RGB", (900, 600), BLUE), 6)
    done = last(await run(engine, edit(image(photo, "phone.jpg"), ratio=Ratio.AUTO)))
    assert isinstance(done, JobCompleted), done
    sent = await fetch(session, sandbox.requests_to("submit")[0].body["image_urls"][0])
    assert sent.size == (600, 900)
    assert (done.images[0].width, done.images[0].height) == (1024, 1536)


async def test_a_file_over_the_upload_limit_is_re_encoded_to_fit(
    engine: Engine, sandbox: Sandbox
) -> None:
    big = encode(noise((2600, 1800)), "PNG", compress_level=0)
    assert len(big) > UPLOAD_MAX_BYTES
    done = last(await run(engine, edit(image(big, "huge.png"))))
    assert isinstance(done, JobCompleted), done
    (upload,) = sandbox.requests_to("upload")
    assert upload.body["size"] <= UPLOAD_MAX_BYTES


async def test_a_mask_of_the_same_shape_is_resized_to_the_first_image(
    engine: Engine, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    request = edit(image(solid((1024, 1536))), mask=image(bw_mask((512, 768), (0, 0, 512, 384))))
    done = last(await run(engine, request))
    assert isinstance(done, JobCompleted), done
    mask = await fetch(session, sandbox.requests_to("submit")[0].body["mask_url"])
    assert mask.size == (1024, 1536)
    assert mask.getchannel("A").getextrema() == (0, 255)


async def test_a_mask_with_real_transparency_is_kept_as_drawn(
    engine: Engine, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    drawn = Image.new("RGBA", (64, 64), (10, 200, 10, 255))
    drawn.paste((0, 0, 0, 0), (40, 40, 64, 64))
    done = last(await run(engine, edit(image(solid((64, 64))), mask=image(encode(drawn, "PNG")))))
    assert isinstance(done, JobCompleted), done
    mask = await fetch(session, sandbox.requests_to("submit")[0].body["mask_url"])
    assert mask.getchannel("A").getpixel((50, 50)) == 0
    assert mask.getchannel("A").getpixel((10, 10)) == 255


# ------------------------------------------------------------------ refusals: no upstream call


async def test_a_mask_of_another_shape_is_refused_with_the_expected_size(
    engine: Engine, sandbox: Sandbox
) -> None:
    request = edit(image(solid((1024, 1024))), mask=image(bw_mask((800, 600), (0, 0, 9, 9))))
    with pytest.raises(InputError, match=r"must be 1024x1024 pixels"):
        await pipeline.check_mask(request.references[0], request.mask)  # type: ignore[arg-type]
    failed = last(await run(engine, request))
    assert isinstance(failed, JobFailed) and failed.failure == "input"
    assert "1024x1024" in str(failed.reason)
    assert len(sandbox.requests) == 0


async def test_a_mask_that_marks_nothing_is_refused(engine: Engine, sandbox: Sandbox) -> None:
    request = edit(image(solid((64, 64))), mask=image(solid((64, 64), (0, 0, 0))))
    failed = last(await run(engine, request))
    assert isinstance(failed, JobFailed) and "marks nothing to repaint" in str(failed.reason)
    assert len(sandbox.requests) == 0


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ([image(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken.png")], "`broken.png`"),
        ([image(solid((64, 64))[:-30], "cut.png")], "damaged or cut short"),
        ([image(png_header(30_000, 30_000), "bomb.png")], "megapixels"),
        ([image(b"\x89PNG" + b"\0" * (50_000_001), "giant.png")], "50 MB"),
        ([image(solid((8, 8)))] * 17, "at most 16"),
        ([], "at least one image"),
    ],
)
async def test_bad_inputs_are_refused_without_any_upstream_call(
    engine: Engine, sandbox: Sandbox, inputs: list[InputImage], fragment: str
) -> None:
    failed = last(await run(engine, edit(*inputs)))
    assert isinstance(failed, JobFailed) and failed.failure == "input"
    assert fragment in str(failed.reason)
    assert len(sandbox.requests) == 0


async def test_a_corrupt_mask_fails_the_job_before_any_upload(
    engine: Engine, sandbox: Sandbox
) -> None:
    request = edit(image(solid((64, 64))), mask=image(b"GIF89a-nope", "mask.gif"))
    resolved = engine.validate(request)
    job = await engine.accept(resolved, origin="cli", inputs=request.references)
    for _ in range(100):
        stored = await engine.get_job(job.id)
        if stored is not None and stored.state is JobState.FAILED:
            break
        await asyncio.sleep(0.02)
    assert stored is not None and stored.failure_kind == "input"
    assert "`mask.gif` is not an image" in str(stored.failure_reason)
    assert len(sandbox.requests) == 0


# ------------------------------------------------------------------ jobs made from an edit


async def finished(engine: Engine, job_id: str) -> JobRecord:
    for _ in range(300):
        job = await engine.get_job(job_id)
        if job is not None and job.state.finished:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError("the job did not finish")


async def test_a_reroll_of_a_masked_edit_sends_the_same_images_and_mask(
    engine: Engine, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    request = edit(image(solid((64, 64))), mask=image(bw_mask((64, 64), (0, 0, 32, 64)), "m.png"))
    parent = await engine.accept(engine.validate(request), origin="cli", inputs=request.references)
    parent = await finished(engine, parent.id)
    assert [f.filename for f in parent.reference_files()] == ["photo.png"]
    assert parent.mask_file() is not None and parent.mask_file().filename == "m.png"  # type: ignore[union-attr]

    again, inputs = await engine.derive(parent, "reroll")
    child = await engine.accept(engine.validate(again), origin="cli", inputs=inputs)
    child = await finished(engine, child.id)
    assert child.state is JobState.DELIVERED, child.failure_reason
    first, second = (entry.body for entry in sandbox.requests_to("submit"))
    assert len(second["image_urls"]) == 1 and second["mask_url"] != first["mask_url"]
    mask = await fetch(session, second["mask_url"])
    assert mask.getchannel("A").getpixel((10, 10)) == 0


async def test_vary_of_an_edit_result_does_not_carry_the_mask_over(
    engine: Engine, sandbox: Sandbox
) -> None:
    request = edit(image(solid((64, 64))), mask=image(bw_mask((64, 64), (0, 0, 32, 64)), "m.png"))
    parent = await engine.accept(engine.validate(request), origin="cli", inputs=request.references)
    parent = await finished(engine, parent.id)
    varied, inputs = await engine.derive(parent, "vary")
    assert varied.mask is None and len(inputs) == 1
    child = await finished(
        engine, (await engine.accept(engine.validate(varied), origin="cli", inputs=inputs)).id
    )
    assert child.state is JobState.DELIVERED, child.failure_reason
    assert "mask_url" not in sandbox.requests_to("submit")[-1].body
