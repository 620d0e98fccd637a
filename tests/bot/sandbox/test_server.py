"""The sandbox speaks the documented ToAPIs shapes and misbehaves exactly when told to."""

from __future__ import annotations

import asyncio
import io
import sys
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy
from PIL import Image

from bot.options import Ratio, Resolution
from bot.providers.catalog import SIZE_TABLES
from bot.sandbox.server import FaultRule, Sandbox

SANDBOX_TASK_SECONDS = 0  # how long the sandbox takes over a task

AUTH = {"Authorization": "Bearer any-key"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    """One request; returns status, JSON (or text) body and headers."""
    async with http.request(
        method, url, headers=AUTH if headers is None else headers, **options
    ) as r:
        text = await r.text()
        body = await r.json() if r.content_type == "application/json" else text
        return r.status, body, r.headers


def generation(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "gpt-image-2",
        "prompt": "a red fox",
        "size": "16:9",
        "resolution": "2K",
    }
    body.update(overrides)
    return body


async def submit(http: aiohttp.ClientSession, sb: Sandbox, **overrides: Any) -> dict[str, Any]:
    status, body, _ = await call(
        http, "POST", f"{sb.base_url}/v1/images/generations", json=generation(**overrides)
    )
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def poll(http: aiohttp.ClientSession, sb: Sandbox, task_id: str) -> dict[str, Any]:
    status, body, _ = await call(http, "GET", f"{sb.base_url}/v1/images/generations/{task_id}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- basics and auth


async def test_sandbox_listens_on_loopback_only(sandbox: Sandbox) -> None:
    """The emulator is never reachable from another machine."""
    assert sandbox.base_url.startswith("http://127.0.0.1:")


async def test_missing_bearer_key_gets_the_documented_401(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """No Authorization header: 401 in the status page's shape."""
    status, body, _ = await call(http, "GET", f"{sandbox.base_url}/v1/balance", headers={})
    assert status == 401
    assert body == {
        "error": {
            "code": 401,
            "message": "Authentication failed, please check your API key",
            "type": "authentication_error",
        }
    }


async def test_configured_api_key_must_match_exactly(http: aiohttp.ClientSession) -> None:
    """With ``api_key=`` only that key gets in."""
    async with Sandbox(api_key="right") as sb:
        url = f"{sb.base_url}/v1/balance"
        assert (await call(http, "GET", url, headers={"Authorization": "Bearer wrong"}))[0] == 401
        assert (await call(http, "GET", url, headers={"Authorization": "Bearer right"}))[0] == 200


# ---------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 16, "image/jpeg"),
        (b"GIF89a" + b"\0" * 16, "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 16, "image/webp"),
    ],
)
async def test_upload_accepts_the_four_documented_types_and_serves_them(
    sandbox: Sandbox, http: aiohttp.ClientSession, data: bytes, mime: str
) -> None:
    """The type is sniffed from bytes; ``data.url`` serves the same bytes."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename="x.bin", content_type="application/octet-stream")
    status, body, _ = await call(http, "POST", f"{sandbox.base_url}/v1/uploads/images", data=form)
    assert status == 200
    assert body["success"] is True
    assert (body["data"]["mime_type"], body["data"]["size"]) == (mime, len(data))
    async with http.get(body["data"]["url"]) as response:
        assert (await response.read(), response.content_type) == (data, mime)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello, not an image", "Unsupported image type. Allowed: JPEG, PNG, WebP, GIF"),
        (PNG + b"\0" * (10 * 1024 * 1024), "Image too large. Maximum size is 10MB"),
    ],
)
async def test_upload_refusals_use_the_documented_body(
    sandbox: Sandbox, http: aiohttp.ClientSession, data: bytes, message: str
) -> None:
    """Wrong types and files over 10 MB get 400 ``{success: false, message}``."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename="x.png")
    status, body, _ = await call(http, "POST", f"{sandbox.base_url}/v1/uploads/images", data=form)
    assert (status, body) == (400, {"success": False, "message": message})


# ---------------------------------------------------------------------- submit validation


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"model": "dall-e-3"}, "not available"),
        ({"prompt": "  "}, "prompt is required"),
        ({"prompt": "x" * 32_001}, "at most 32000"),
        ({"size": "7:3"}, "size must be one of"),
        ({"size": "4:3", "resolution": "1K"}, "4:3 is not supported at 1K"),
        ({"size": "1:1", "resolution": "4K"}, "1:1 is not supported at 4K"),
        ({"resolution": "8K"}, "resolution must be one of"),
        ({"n": 0}, "n must be between 1 and 10"),
        ({"n": 11}, "n must be between 1 and 10"),
        ({"reference_images": [f"https://x/{i}.png" for i in range(17)]}, "at most 16"),
        ({"image_urls": ["data:image/png;base64,AAAA"]}, "http(s) URLs"),
        ({"quality": "high"}, "quality is not supported by gpt-image-2"),
        ({"output_format": "jpeg"}, "output_format is not supported by gpt-image-2"),
        ({"model": "gpt-image-2-official", "output_format": "webp"}, "png or jpeg"),
        ({"n": "many"}, "n:"),
    ],
)
async def test_invalid_generation_requests_get_400_invalid_request(
    sandbox: Sandbox, http: aiohttp.ClientSession, overrides: dict[str, Any], fragment: str
) -> None:
    """Validation mirrors the docs; the message says what is wrong."""
    status, body, _ = await call(
        http, "POST", f"{sandbox.base_url}/v1/images/generations", json=generation(**overrides)
    )
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert body["error"]["type"] == "invalid_request"
    assert fragment in body["error"]["message"]
    assert sandbox.stats().tasks == 0


async def test_non_json_generation_body_is_400(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A body that is not JSON is an invalid request, not a crash."""
    status, body, _ = await call(
        http,
        "POST",
        f"{sandbox.base_url}/v1/images/generations",
        data=b"{nope",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (status, body["error"]["code"]) == (400, "invalid_request")


async def test_extended_size_table_accepts_every_ratio_at_1k(http: aiohttp.ClientSession) -> None:
    """``size_table="extended"`` follows the 2026-08 docs mirror."""
    async with Sandbox(task_duration=0, size_table="extended") as sb:
        created = await submit(http, sb, size="4:3", resolution="1k")
        done = await poll(http, sb, created["id"])
        async with http.get(done["url"]) as response:
            assert Image.open(io.BytesIO(await response.read())).size == (1024, 768)


async def test_submit_returns_the_documented_task_object(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """id ``tsk_img_…``, object generation.task, queued at 0 % with a creation time."""
    body = await submit(http, sandbox, resolution="2k")
    assert body["id"].startswith("tsk_img_")
    assert (body["object"], body["model"], body["status"], body["progress"]) == (
        "generation.task",
        "gpt-image-2",
        "queued",
        0,
    )
    assert isinstance(body["created_at"], int)
    assert body["metadata"] == {}


async def test_client_business_id_returns_the_existing_task_and_finds_it(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A second submit with the same id creates nothing; GET by that id works, per key."""
    first = await submit(http, sandbox, client_business_id="job-1")
    second = await submit(http, sandbox, client_business_id="job-1")
    assert second["id"] == first["id"]
    assert sandbox.stats().tasks == 1
    assert (await poll(http, sandbox, "job-1"))["id"] == first["id"]
    other_key = {"Authorization": "Bearer someone-else"}
    status, _, _ = await call(
        http, "GET", f"{sandbox.base_url}/v1/images/generations/job-1", headers=other_key
    )
    assert status == 404


# ---------------------------------------------------------------------- task lifecycle


async def test_task_rises_through_queued_and_in_progress_to_completed(
    http: aiohttp.ClientSession,
) -> None:
    """Progress rises with elapsed time; completion carries timestamps and both URL places."""
    async with Sandbox(task_duration=0.4) as sb:
        created = await submit(http, sb, n=3)
        seen = []
        while True:
            body = await poll(http, sb, created["id"])
            seen.append((body["status"], body["progress"]))
            if body["status"] == "completed":
                break
            await asyncio.sleep(0.05)
    statuses = [status for status, _ in seen]
    assert statuses[0] in ("queued", "in_progress")
    assert "in_progress" in statuses
    progress = [p for _, p in seen]
    assert progress == sorted(progress)
    assert body["progress"] == 100
    assert body["expires_at"] == body["completed_at"] + 24 * 3600
    urls = [item["url"] for item in body["result"]["data"]]
    assert body["result"]["type"] == "image"
    assert len(urls) == 3
    assert body["url"] == urls[0]


@pytest.mark.parametrize(
    ("ratio", "tier"),
    [
        (Ratio.SQUARE, Resolution.R1K),
        (Ratio.TALL_9_16, Resolution.R2K),
        (Ratio.ULTRAWIDE_21_9, Resolution.R4K),
    ],
)
async def test_result_images_have_the_exact_table_size(
    sandbox: Sandbox, http: aiohttp.ClientSession, ratio: Ratio, tier: Resolution
) -> None:
    """Files are PNG at the seed table's pixel size for the requested ratio and tier."""
    created = await submit(http, sandbox, size=ratio.value, resolution=tier.value)
    done = await poll(http, sandbox, created["id"])
    async with http.get(done["url"]) as response:
        assert response.content_type == "image/png"
        image = Image.open(io.BytesIO(await response.read()))
    assert image.size == SIZE_TABLES["seed"][tier][ratio]


async def test_jpeg_output_format_gives_jpeg_files(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``output_format: jpeg`` on an official model yields JPEG results."""
    created = await submit(
        http,
        sandbox,
        model="gpt-image-2-official",
        output_format="jpeg",
        output_compression=60,
        quality="low",
    )
    done = await poll(http, sandbox, created["id"])
    assert done["url"].endswith(".jpg")
    async with http.get(done["url"]) as response:
        assert Image.open(io.BytesIO(await response.read())).format == "JPEG"


async def test_unknown_task_id_gets_the_documented_404(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """404 ``{"error": {"code": 404, "message": "Task not found", ...}}``."""
    status, body, _ = await call(http, "GET", f"{sandbox.base_url}/v1/images/generations/nope")
    assert (status, body["error"]["code"], body["error"]["message"]) == (404, 404, "Task not found")


# ---------------------------------------------------------------------- account


async def test_balance_and_model_list_shapes(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Balance has the documented keys; ``type=image`` filters the model list."""
    _, balance, _ = await call(http, "GET", f"{sandbox.base_url}/v1/balance")
    assert balance["success"] is True
    assert {"remain_balance", "used_balance", "remain_credits", "unlimited_quota"} <= balance.keys()
    _, images, _ = await call(http, "GET", f"{sandbox.base_url}/v1/models?type=image")
    _, default, _ = await call(http, "GET", f"{sandbox.base_url}/v1/models")
    image_ids = {entry["id"] for entry in images["data"]}
    assert {
        "gpt-image-2",
        "gpt-image-2-vip",
        "gpt-image-2-official",
        "gpt-image-1.5-official",
    } == image_ids
    assert not image_ids & {entry["id"] for entry in default["data"]}


async def test_zero_balance_makes_submit_402(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """``balance = 0`` answers insufficient_quota."""
    sandbox.faults.balance = 0
    status, body, _ = await call(
        http, "POST", f"{sandbox.base_url}/v1/images/generations", json=generation()
    )
    assert (status, body["error"]["code"]) == (402, "insufficient_quota")


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("500", 500, "internal_error"),
        ("502", 502, "bad_gateway"),
        ("503", 503, "rate_limit_unavailable"),
    ],
)
async def test_server_error_faults_answer_json_once(
    sandbox: Sandbox, http: aiohttp.ClientSession, kind: str, status: int, code: str
) -> None:
    """A one-shot 5xx fault hits the next request only."""
    sandbox.add_fault(kind, "balance")  # type: ignore[arg-type]
    url = f"{sandbox.base_url}/v1/balance"
    first, body, _ = await call(http, "GET", url)
    assert (first, body["error"]["code"]) == (status, code)
    assert (await call(http, "GET", url))[0] == 200


async def test_429_fault_sends_retry_after(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """The rate-limit fault uses the documented body and a Retry-After header."""
    sandbox.add_fault("429", "submit", retry_after=4)
    status, body, headers = await call(
        http, "POST", f"{sandbox.base_url}/v1/images/generations", json=generation()
    )
    assert (status, body["error"]["code"], headers["Retry-After"]) == (
        429,
        "rate_limit_exceeded",
        "4",
    )
    assert sandbox.stats().tasks == 0


async def test_html_fault_is_a_cdn_style_504_page(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """The gateway fault is text/html, like the real CDN front."""
    sandbox.add_fault("html", "poll")
    status, body, headers = await call(http, "GET", f"{sandbox.base_url}/v1/images/generations/x")
    assert status == 504
    assert headers["Content-Type"].startswith("text/html")
    assert "504 Gateway Time-out" in body


async def test_timeout_fault_hangs_past_the_client_timeout(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """The hang outlasts a short client timeout."""
    sandbox.add_fault("timeout", "any", hang=5)
    with pytest.raises(asyncio.TimeoutError):
        await call(
            http, "GET", f"{sandbox.base_url}/v1/balance", timeout=aiohttp.ClientTimeout(total=0.2)
        )


async def test_faults_target_their_endpoint_and_repeat_times(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A poll fault leaves submits alone; ``times=2`` fails two polls, then stops."""
    sandbox.add_fault("500", "poll", times=2)
    created = await submit(http, sandbox)
    url = f"{sandbox.base_url}/v1/images/generations/{created['id']}"
    assert [(await call(http, "GET", url))[0] for _ in range(3)] == [500, 500, 200]


async def test_after_fault_lets_the_request_take_effect(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``after=True``: the task is created although the client sees a 502."""
    sandbox.add_fault("502", "submit", after=True)
    status, _, _ = await call(
        http,
        "POST",
        f"{sandbox.base_url}/v1/images/generations",
        json=generation(client_business_id="r1"),
    )
    assert status == 502
    assert sandbox.stats().tasks == 1
    assert (await poll(http, sandbox, "r1"))["status"] == "completed"


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        (
            {"fail_tasks": 1},
            {
                "code": "generation_failed",
                "message": "call upstream API failed: upstream returned status 500",
            },
        ),
        (
            {"fail_tasks": 1, "fail_status": 422},
            {
                "code": "generation_failed",
                "message": "call upstream API failed: upstream returned status 422",
            },
        ),
        (
            {"safety_fail_tasks": 1},
            {
                "code": "content_policy_violation",
                "message": "Your request was rejected as a result of our safety system.",
            },
        ),
    ],
)
async def test_failing_task_knobs_fail_the_next_task_only(
    sandbox: Sandbox, http: aiohttp.ClientSession, knobs: dict[str, int], error: dict[str, str]
) -> None:
    """The next task ends failed with the documented error shape; the one after succeeds."""
    for knob, value in knobs.items():
        setattr(sandbox.faults, knob, value)
    failed = await poll(http, sandbox, (await submit(http, sandbox))["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == error
    assert "url" not in failed
    assert (await poll(http, sandbox, (await submit(http, sandbox))["id"]))["status"] == "completed"


async def test_dead_result_urls_answer_404(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Expired links are emulated by 404s on result files."""
    done = await poll(http, sandbox, (await submit(http, sandbox))["id"])
    sandbox.faults.dead_result_urls = True
    async with http.get(done["url"]) as response:
        assert response.status == 404


async def test_download_delay_and_latency_slow_their_requests(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``download_delay`` slows result files; ``latency`` slows API calls."""
    done = await poll(http, sandbox, (await submit(http, sandbox))["id"])
    sandbox.faults.download_delay = 0.2
    sandbox.faults.latency = 0.2
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with http.get(done["url"]) as response:
        await response.read()
    middle = loop.time()
    await call(http, "GET", f"{sandbox.base_url}/v1/balance")
    assert middle - start >= 0.2
    assert loop.time() - middle >= 0.2


async def test_download_faults_answer_404_or_break_the_connection_once(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``404`` is a file the CDN does not have (yet); ``reset`` cuts the answer off midway."""
    done = await poll(http, sandbox, (await submit(http, sandbox))["id"])
    sandbox.add_fault("404", "download")
    sandbox.add_fault("reset", "download")
    async with http.get(done["url"]) as response:
        assert response.status == 404
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(done["url"]) as response:
            await response.read()
    async with http.get(done["url"]) as response:
        assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")


async def test_an_outage_fails_every_matching_request_for_its_seconds_then_ends(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``seconds``: a storm measured in time, not in requests."""
    sandbox.add_fault("500", "submit", seconds=0.4)
    url = f"{sandbox.base_url}/v1/images/generations"
    statuses = [(await call(http, "POST", url, json=generation()))[0] for _ in range(3)]
    await asyncio.sleep(0.45)
    after, _, _ = await call(http, "POST", url, json=generation())
    assert statuses == [500, 500, 500] and after == 200
    assert sandbox.faults.rules == []


async def test_faults_can_be_set_and_reset_over_http(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``POST /_sandbox/faults`` sets knobs and appends rules; ``reset`` restores defaults."""
    url = f"{sandbox.base_url}/_sandbox/faults"
    status, body, _ = await call(
        http,
        "POST",
        url,
        headers={},
        json={"fail_tasks": 2, "latency": 0.01, "rules": [{"endpoint": "submit", "kind": "429"}]},
    )
    assert status == 200
    assert (sandbox.faults.fail_tasks, sandbox.faults.latency) == (2, 0.01)
    assert sandbox.faults.rules == [FaultRule(endpoint="submit", kind="429")]
    assert body["fail_tasks"] == 2
    await call(http, "POST", url, headers={}, json={"reset": True})
    assert (sandbox.faults.fail_tasks, sandbox.faults.rules, sandbox.faults.latency) == (0, [], 0)
    bad, _, _ = await call(http, "POST", url, headers={}, json={"kind": "oops"})
    assert bad == 400


# ---------------------------------------------------------------------- request log and stats


async def test_request_log_and_counters_record_every_request(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Each request is logged with kind, monotonic time, parsed body and status; key redacted."""
    created = await submit(http, sandbox, n=2)
    await poll(http, sandbox, created["id"])
    await call(http, "GET", f"{sandbox.base_url}/v1/balance", headers={})
    log = list(sandbox.requests)
    assert [(e.method, e.endpoint, e.status) for e in log] == [
        ("POST", "submit", 200),
        ("GET", "poll", 200),
        ("GET", "balance", 401),
    ]
    assert log[0].body == generation(n=2)
    assert log[0].at <= log[1].at <= log[2].at
    assert log[0].headers["Authorization"] == "<redacted>"
    assert (sandbox.count("submit"), sandbox.count("poll"), sandbox.count("upload")) == (1, 1, 0)


async def test_stats_endpoint_reports_counts_and_per_second_buckets(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """``GET /_sandbox/stats`` serves counters for a benchmark in another process."""
    await submit(http, sandbox)
    await call(http, "GET", f"{sandbox.base_url}/v1/images/generations/x")
    status, stats, _ = await call(http, "GET", f"{sandbox.base_url}/_sandbox/stats", headers={})
    assert status == 200
    assert stats["counts"]["submit"] == 1
    assert stats["counts"]["poll"] == 1
    assert stats["tasks"] == 1
    assert sum(bucket.get("poll", 0) for bucket in stats["per_second"].values()) == 1


# ---------------------------------------------------------------------- standalone


async def test_module_entry_point_prints_base_url_and_serves(http: aiohttp.ClientSession) -> None:
    """``python -m bot.sandbox --port 0`` prints its URL and answers API calls."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        "--task-duration",
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=15)).decode().strip()
        assert line.startswith("http://127.0.0.1:")
        status, body, _ = await call(http, "GET", f"{line}/v1/balance")
        assert (status, body["success"]) == (200, True)
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0


async def test_oldest_files_are_dropped_past_the_byte_budget(http: aiohttp.ClientSession) -> None:
    """A long benchmark cannot exhaust memory: old results expire (404) first."""
    async with Sandbox(task_duration=0, file_budget=1) as sb:
        first = await poll(http, sb, (await submit(http, sb, size="1:1", resolution="1K"))["id"])
        second = await poll(http, sb, (await submit(http, sb, size="1:1", resolution="1K"))["id"])
        async with http.get(first["url"]) as old, http.get(second["url"]) as new:
            assert (old.status, new.status) == (404, 200)
