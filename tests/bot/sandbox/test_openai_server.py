"""The OpenAI-compatible emulator answers like each documented API, over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sys
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.sandbox.openai_server import OpenAISandbox

AUTH = {"Authorization": "Bearer sk-test"}


def png(size: tuple[int, int] = (64, 64), *, alpha: bool = False) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", size, (10, 200, 30, 0) if alpha else "white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


async def post_json(
    http: aiohttp.ClientSession, api: OpenAISandbox, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(f"{api.base_url}{path}", json=body, headers=AUTH) as response:
        return response.status, await response.json(content_type=None)


def form(fields: dict[str, str], files: list[tuple[str, bytes]]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    for name, content in files:
        data.add_field(name, content, filename="x.png", content_type="image/png")
    return data


def image_size(b64: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as image:
        return image.size


async def test_listens_on_loopback_and_needs_a_bearer_key(http: aiohttp.ClientSession) -> None:
    async with OpenAISandbox("openai", api_key="sk-test") as api:
        assert api.base_url.startswith("http://127.0.0.1:")
        async with http.post(f"{api.base_url}/v1/images/generations", json={}) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "invalid_api_key"


async def test_infinityblue_ignores_n_and_answers_with_usage(http: aiohttp.ClientSession) -> None:
    async with OpenAISandbox("infinityblue", call_duration=0) as api:
        status, body = await post_json(
            http,
            api,
            "/v1/images/generations",
            {"model": "gpt-image-2", "prompt": "a fox", "n": 3, "size": "1536x1024"},
        )
    assert status == 200
    assert len(body["data"]) == 1 and "usage" in body
    assert image_size(body["data"][0]["b64_json"]) == (1536, 1024)


async def test_infinityblue_refuses_a_transparent_background(http: aiohttp.ClientSession) -> None:
    async with OpenAISandbox("infinityblue", call_duration=0) as api:
        status, body = await post_json(
            http,
            api,
            "/v1/images/generations",
            {"model": "gpt-image-2", "prompt": "a fox", "background": "transparent"},
        )
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


async def test_infinityblue_edits_take_json_data_urls_up_to_1000_characters(
    http: aiohttp.ClientSession,
) -> None:
    async with OpenAISandbox("infinityblue", call_duration=0) as api:
        edit = {
            "model": "gpt-image-2",
            "prompt": "make it blue",
            "image": data_url(png()),
            "images": [data_url(png((80, 40)))],
            "mask": data_url(png(alpha=True)),
            "size": "1024x1024",
        }
        status, body = await post_json(http, api, "/v1/images/edits", edit)
        assert status == 200 and len(body["data"]) == 1
        logged = api.requests_to("edit")[-1]
        assert logged.transport == "json" and len(logged.files["image"]) == 2
        assert logged.fields["image"].startswith("<data url")
        status, body = await post_json(
            http, api, "/v1/images/edits", {**edit, "prompt": "x" * 1001}
        )
    assert status == 400 and "1000" in body["error"]["message"]


async def test_starrise_edits_are_multipart_only_with_image_or_image_brackets(
    http: aiohttp.ClientSession,
) -> None:
    async with OpenAISandbox("starrise", call_duration=0) as api:
        url = f"{api.base_url}/v1/images/edits"
        status, _ = await post_json(
            http, api, "/v1/images/edits", {"model": "gpt-image-2", "prompt": "x", "image": "a"}
        )
        assert status == 400
        fields = {"model": "gpt-image-2", "prompt": "x", "size": "1024x1024"}
        both = form(fields, [("image", png()), ("image[]", png())])
        async with http.post(url, data=both, headers=AUTH) as response:
            assert response.status == 400
            assert "mutually exclusive" in (await response.json())["error"]["message"]
        many = form({**fields, "n": "2"}, [("image[]", png()), ("image[]", png())])
        async with http.post(url, data=many, headers=AUTH) as response:
            assert response.status == 200
            assert len((await response.json())["data"]) == 2


async def test_starrise_checks_the_mask_against_the_first_image(
    http: aiohttp.ClientSession,
) -> None:
    async with OpenAISandbox("starrise", call_duration=0) as api:
        url = f"{api.base_url}/v1/images/edits"
        fields = {"model": "gpt-image-2", "prompt": "x", "size": "1024x1024"}
        wrong = form(fields, [("image", png((64, 64))), ("mask", png((32, 32), alpha=True))])
        async with http.post(url, data=wrong, headers=AUTH) as response:
            assert response.status == 400
            assert "same dimensions" in (await response.json())["error"]["message"]
        right = form(fields, [("image", png((64, 64))), ("mask", png((64, 64), alpha=True))])
        async with http.post(url, data=right, headers=AUTH) as response:
            assert response.status == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"size": "1000x1000"}, "multiples of 16"),
        ({"size": "3456x1024"}, "aspect"),
        ({"output_format": "webp"}, "output_format"),
        ({"stream": True}, "Unknown parameter"),
        ({"model": "dall-e-3"}, "does not exist"),
    ],
)
async def test_starrise_refuses_what_its_docs_do_not_allow(
    http: aiohttp.ClientSession, body: dict[str, Any], words: str
) -> None:
    async with OpenAISandbox("starrise", call_duration=0) as api:
        status, answer = await post_json(
            http, api, "/v1/images/generations", {"model": "gpt-image-2", "prompt": "x", **body}
        )
    assert status in (400, 404)
    assert words in answer["error"]["message"]


async def test_gpt_image_2_c_edits_answer_with_a_link_that_can_be_made_to_fail(
    http: aiohttp.ClientSession,
) -> None:
    async with OpenAISandbox("starrise", call_duration=0) as api:
        fields = {"model": "gpt-image-2-c", "prompt": "x", "size": "1024x1024"}
        async with http.post(
            f"{api.base_url}/v1/images/edits", data=form(fields, [("image", png())]), headers=AUTH
        ) as response:
            url = (await response.json())["data"][0]["url"]
        async with http.get(url) as response:
            assert response.status == 200
            assert (await response.read()).startswith(b"\x89PNG")
        api.add_fault("404", "download")
        api.add_fault("reset", "download")
        async with http.get(url) as response:
            assert response.status == 404  # the link fails once…
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.get(url) as response:
                await response.read()  # …then breaks off midway…
        async with http.get(url) as response:
            assert response.status == 200  # …then works again


async def test_openai_streams_partials_then_the_final_image(http: aiohttp.ClientSession) -> None:
    async with OpenAISandbox("openai", call_duration=0.05) as api:
        body = {
            "model": "gpt-image-2",
            "prompt": "a fox",
            "size": "1024x1024",
            "stream": True,
            "partial_images": 2,
        }
        async with http.post(
            f"{api.base_url}/v1/images/generations", json=body, headers=AUTH
        ) as response:
            assert response.content_type == "text/event-stream"
            text = (await response.read()).decode()
    events = [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: {")
    ]
    assert [e["type"] for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [e.get("partial_image_index") for e in events[:2]] == [0, 1]
    assert "[DONE]" not in text  # not promised by the docs; send_done=True adds it


async def test_openai_moderation_blocked_has_the_observed_shape(
    http: aiohttp.ClientSession,
) -> None:
    async with OpenAISandbox("openai", call_duration=0) as api:
        api.faults.safety_fail_calls = 1
        status, body = await post_json(
            http, api, "/v1/images/generations", {"model": "gpt-image-2", "prompt": "x"}
        )
    assert status == 400
    assert body["error"]["code"] == "moderation_blocked"
    assert body["error"]["type"] == "image_generation_user_error"


async def test_openai_refuses_moderation_on_edits(http: aiohttp.ClientSession) -> None:
    async with OpenAISandbox("openai", call_duration=0) as api:
        fields = {"model": "gpt-image-2", "prompt": "x", "moderation": "low"}
        async with http.post(
            f"{api.base_url}/v1/images/edits", data=form(fields, [("image", png())]), headers=AUTH
        ) as response:
            assert response.status == 400


@pytest.mark.parametrize(
    ("flavour", "status", "kind"),
    [("openai", 429, "insufficient_quota"), ("starrise", 402, "insufficient_quota")],
)
async def test_no_balance_answers_each_apis_way(
    http: aiohttp.ClientSession, flavour: str, status: int, kind: str
) -> None:
    async with OpenAISandbox(flavour, call_duration=0) as api:  # type: ignore[arg-type]
        api.faults.balance = 0
        got, body = await post_json(
            http, api, "/v1/images/generations", {"model": "gpt-image-2", "prompt": "x"}
        )
    assert got == status and body["error"]["type"] == kind


async def test_faults_are_one_shot_and_settable_over_http(http: aiohttp.ClientSession) -> None:
    async with OpenAISandbox("openai", call_duration=0) as api:
        async with http.post(
            f"{api.base_url}/_sandbox/faults",
            json={"rules": [{"kind": "html", "endpoint": "generate"}]},
        ) as response:
            assert response.status == 200
        request = {"model": "gpt-image-2", "prompt": "x"}
        async with http.post(
            f"{api.base_url}/v1/images/generations", json=request, headers=AUTH
        ) as response:
            assert response.status == 502 and response.content_type == "text/html"
        status, _ = await post_json(http, api, "/v1/images/generations", request)
        assert status == 200
        api.add_fault("429", "generate", retry_after=7)
        async with http.post(
            f"{api.base_url}/v1/images/generations", json=request, headers=AUTH
        ) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "7"


async def test_module_entry_point_serves_the_chosen_api(http: aiohttp.ClientSession) -> None:
    """``python -m bot.sandbox --api starrise`` prints its URL and answers like Starrise."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--api",
        "starrise",
        "--port",
        "0",
        "--task-duration",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=15)).decode().strip()
        assert line.startswith("http://127.0.0.1:")
        async with http.get(f"{line}/v1/models", headers=AUTH) as response:
            ids = [entry["id"] for entry in (await response.json())["data"]]
        assert "gpt-image-2-c" in ids
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
