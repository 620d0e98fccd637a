"""The ToAPIs client against the sandbox (and tiny scripted upstreams) over loopback."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from pydantic import SecretStr

from bot.errors import (
    AuthenticationError,
    EaselError,
    InsufficientQuotaError,
    RateLimitedError,
    ResultUnavailableError,
    SafetyRefusal,
    TaskNotFoundError,
    TransientUpstreamError,
    UpstreamRejectedError,
)
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.providers.base import TaskSnapshot, TaskSpec, TaskState
from bot.providers.families import toapis_model_spec
from bot.providers.toapis.errors import is_safety_failure
from bot.providers.toapis.provider import BACKOFF_CAP, ToAPIsProvider
from bot.sandbox.server import Sandbox

SANDBOX_TASK_SECONDS = 0  # how long the sandbox takes over a task

API_KEY = "sk-test-SECRET-0123456789"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class Sleeps(list[float]):
    """An injected ``sleep`` that records delays and returns at once (tests stay instant)."""

    def __init__(self, hook: Callable[[float], Awaitable[None]] | None = None) -> None:
        super().__init__()
        self.hook = hook

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook is not None:
            await self.hook(seconds)


ProviderFactory = Callable[..., ToAPIsProvider]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_provider(sleeps: Sleeps) -> AsyncIterator[ProviderFactory]:
    """Build providers (closed after the test) with the recording sleep."""
    made: list[ToAPIsProvider] = []

    def factory(base_url: str, model: str = "gpt-image-2", **options: Any) -> ToAPIsProvider:
        options.setdefault("sleep", sleeps)
        provider = ToAPIsProvider(base_url, SecretStr(API_KEY), toapis_model_spec(model), **options)
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        await provider.close()


@pytest.fixture
def provider(sandbox: Sandbox, make_provider: ProviderFactory) -> ToAPIsProvider:
    return make_provider(sandbox.base_url)


def task(**overrides: Any) -> TaskSpec:
    values: dict[str, Any] = {
        "prompt": "a lighthouse at dusk",
        "ratio": Ratio.WIDE_16_9,
        "resolution": Resolution.R2K,
        "width": 2048,
        "height": 1152,
    }
    values.update(overrides)
    return TaskSpec(**values)


async def until_done(provider: ToAPIsProvider, task_id: str) -> list[TaskSnapshot]:
    seen = []
    for _ in range(200):
        snapshot = await provider.poll(task_id)
        seen.append(snapshot)
        if snapshot.state is not TaskState.RUNNING:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError("task never finished")


# ---------------------------------------------------------------------- scripted upstream


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Scripted:
    """A tiny upstream that answers from a script (the last reply repeats) and logs requests."""

    base_url: str
    replies: list[Reply]
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
async def scripted(
    aiohttp_server: Callable[[web.Application], Awaitable[Any]],
) -> Callable[..., Awaitable[Scripted]]:
    async def start(*replies: Reply) -> Scripted:
        state = Scripted(base_url="", replies=list(replies))

        async def handler(request: web.Request) -> web.Response:
            state.seen.append((request.method, request.raw_path, dict(request.headers)))
            reply = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            if reply.text is not None:
                return web.Response(
                    status=reply.status,
                    text=reply.text,
                    content_type=reply.content_type,
                    headers=reply.headers,
                )
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = await aiohttp_server(app)
        state.base_url = str(server.make_url("")).rstrip("/")
        return state

    return start


# ---------------------------------------------------------------------- upload


async def test_upload_returns_data_url_serving_the_same_bytes(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """The returned URL is ``data.url``; the multipart carries ``file`` and ``purpose``."""
    url = await provider.upload_image(PNG_BYTES, "ref.png", "image/png")
    assert url.startswith(f"{sandbox.base_url}/files/uploads/upload_")
    (logged,) = sandbox.requests_to("upload")
    assert logged.body == {
        "purpose": "generation",
        "filename": "ref.png",
        "content_type": "image/png",
        "size": len(PNG_BYTES),
    }
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert await response.read() == PNG_BYTES


async def test_upload_too_large_is_rejected_with_the_service_message_and_not_retried(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """A 400 ``{success: false}`` body becomes UpstreamRejectedError quoting the reason."""
    with pytest.raises(UpstreamRejectedError) as caught:
        await provider.upload_image(PNG_BYTES + b"\0" * (10 * 1024 * 1024), "big.png", "image/png")
    assert "Maximum size is 10MB" in caught.value.user_message
    assert caught.value.status == 400
    assert sandbox.count("upload") == 1


async def test_upload_success_false_in_a_200_body_is_rejected(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """``{success: false}`` is a refusal even when the HTTP status says 200."""
    upstream = await scripted(Reply(body={"success": False, "message": "Unsupported image type"}))
    with pytest.raises(UpstreamRejectedError, match="Unsupported image type"):
        await make_provider(upstream.base_url).upload_image(b"xx", "a.txt", "text/plain")


async def test_upload_is_retried_after_a_503(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """Transient upload failures are retried; the second attempt succeeds."""
    sandbox.add_fault("503", "upload")
    assert (await provider.upload_image(PNG_BYTES, "a.png", "image/png")).startswith("http")
    assert sandbox.count("upload") == 2
    assert len(sleeps) == 1


# ---------------------------------------------------------------------- submit body


async def test_submit_body_for_gpt_image_2_omits_quality_and_format(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """Plain gpt-image-2 documents neither quality nor output_format, so neither is sent."""
    snapshot = await provider.submit(
        task(
            n=2,
            quality=Quality.HIGH,
            output_format=OutputFormat.JPEG,
            compression=80,
            reference_urls=("https://x/a.png", "https://x/b.png"),
            client_reference="easel-1",
        )
    )
    assert snapshot.state is TaskState.RUNNING
    assert snapshot.status == "queued"
    (logged,) = sandbox.requests_to("submit")
    assert logged.body == {
        "model": "gpt-image-2",
        "prompt": "a lighthouse at dusk",
        "size": "16:9",
        "resolution": "2K",
        "n": 2,
        "reference_images": ["https://x/a.png", "https://x/b.png"],
        "client_business_id": "easel-1",
    }


async def test_submit_body_without_options_has_only_the_required_fields(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """No references and no client reference: those keys are absent, not null."""
    await provider.submit(
        task(ratio=Ratio.SQUARE, resolution=Resolution.R1K, width=1024, height=1024)
    )
    (logged,) = sandbox.requests_to("submit")
    assert logged.body == {
        "model": "gpt-image-2",
        "prompt": "a lighthouse at dusk",
        "size": "1:1",
        "resolution": "1K",
        "n": 1,
    }


@pytest.mark.parametrize(
    ("model", "output_format", "expected_extra"),
    [
        (
            "gpt-image-2-official",
            OutputFormat.JPEG,
            {"quality": "low", "output_format": "jpeg", "output_compression": 70},
        ),
        ("gpt-image-1.5-official", OutputFormat.PNG, {"quality": "low", "output_format": "png"}),
        ("gpt-image-2-vip", OutputFormat.JPEG, {"quality": "low"}),
    ],
)
async def test_submit_body_sends_only_the_options_each_model_documents(
    sandbox: Sandbox,
    make_provider: ProviderFactory,
    model: str,
    output_format: OutputFormat,
    expected_extra: dict[str, Any],
) -> None:
    """quality for vip/official, format for official, compression only with jpeg."""
    provider = make_provider(sandbox.base_url, model)
    await provider.submit(task(quality=Quality.LOW, output_format=output_format, compression=70))
    (logged,) = sandbox.requests_to("submit")
    base = {"model": model, "prompt": "a lighthouse at dusk", "size": "16:9", "resolution": "2K"}
    assert logged.body == {**base, "n": 1, **expected_extra}


async def test_lower_resolution_case_sends_lowercase_tier(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    """``resolution_case="lower"`` sends "2k", as the 2026-08 docs spell it."""
    provider = make_provider(sandbox.base_url, resolution_case="lower")
    await provider.submit(task())
    assert sandbox.requests_to("submit")[0].body["resolution"] == "2k"


async def test_submit_invalid_size_maps_to_rejected_with_the_service_reason(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """4:3 has no 1K size in the seed table: a 400 the member can act on, sent once."""
    with pytest.raises(UpstreamRejectedError) as caught:
        await provider.submit(task(ratio=Ratio.LANDSCAPE_4_3, resolution=Resolution.R1K))
    assert "HTTP 400" in caught.value.user_message
    assert "4:3" in caught.value.user_message
    assert sandbox.count("submit") == 1


# ---------------------------------------------------------------------- poll


async def test_poll_follows_a_task_to_completion_and_downloads_exact_size_images(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """queued/in_progress are RUNNING with rising progress; completion lists every image."""
    sandbox.faults.task_duration = 0.3
    first = await provider.submit(task(n=2))
    seen = await until_done(provider, first.task_id)
    running = [s for s in seen if s.state is TaskState.RUNNING]
    assert running, "the task was never observed running"
    assert {s.status for s in running} <= {"queued", "in_progress"}
    assert [s.progress for s in running] == sorted(s.progress for s in running)
    done = seen[-1]
    assert (done.state, done.progress, len(done.result_urls)) == (TaskState.COMPLETED, 100, 2)
    for url in done.result_urls:
        image = Image.open(io.BytesIO(await provider.download(url)))
        assert (image.format, image.size) == ("PNG", (2048, 1152))


@pytest.mark.parametrize(
    "body",
    [
        {"id": "t1", "status": "completed", "url": "https://cdn/one.png"},
        {"id": "t1", "status": "completed", "result": {"data": [{"url": "https://cdn/one.png"}]}},
    ],
    ids=["top-level-url-only", "result-data-only"],
)
async def test_poll_reads_the_result_url_from_either_location(
    scripted: Callable[..., Awaitable[Scripted]],
    make_provider: ProviderFactory,
    body: dict[str, Any],
) -> None:
    """Upstreams that send only ``url`` or only ``result.data`` both yield the image."""
    upstream = await scripted(Reply(body=body))
    snapshot = await make_provider(upstream.base_url).poll("t1")
    assert snapshot.state is TaskState.COMPLETED
    assert snapshot.result_urls == ("https://cdn/one.png",)


@pytest.mark.parametrize("status", ["queued", "in_progress", "submitted", "processing", None])
async def test_poll_treats_every_non_final_status_as_running(
    scripted: Callable[..., Awaitable[Scripted]],
    make_provider: ProviderFactory,
    status: str | None,
) -> None:
    """Only completed and failed are final; unknown statuses keep the job waiting."""
    upstream = await scripted(Reply(body={"id": "t1", "status": status, "progress": "40%"}))
    snapshot = await make_provider(upstream.base_url).poll("t1")
    assert (snapshot.state, snapshot.progress) == (TaskState.RUNNING, 40)


async def test_poll_sends_the_task_id_as_one_quoted_path_segment(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """Ids are opaque: a slash in one cannot reach another endpoint."""
    upstream = await scripted(Reply(body={"id": "a/b", "status": "queued"}))
    await make_provider(upstream.base_url).poll("a/b")
    assert upstream.seen[0][1] == "/v1/images/generations/a%2Fb"


async def test_failed_task_carries_code_and_message_and_is_not_a_safety_refusal(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """``fail_tasks``: generation_failed with an upstream 500 is a plain failure."""
    sandbox.faults.fail_tasks = 1
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    assert snapshot.state is TaskState.FAILED
    assert snapshot.error_code == "generation_failed"
    assert snapshot.error_message is not None and "status 500" in snapshot.error_message
    assert snapshot.safety_refusal is False


async def test_failed_task_with_a_policy_code_is_a_safety_refusal(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """``safety_fail_tasks``: ``content_policy_violation`` is the upstream saying no."""
    sandbox.faults.safety_fail_tasks = 1
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    assert (snapshot.state, snapshot.safety_refusal) == (TaskState.FAILED, True)


async def test_generation_failed_wrapping_a_422_is_a_failure_not_a_refusal(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """The documented ``generation_failed`` example wraps "status 422": it failed, nothing more."""
    sandbox.faults.fail_tasks = 1
    sandbox.faults.fail_status = 422
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    assert snapshot.state is TaskState.FAILED
    assert snapshot.error_code == "generation_failed"
    assert snapshot.safety_refusal is False


async def test_failed_task_with_legacy_fail_reason_reports_it(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """An old-style ``fail_reason`` is the message, and its wording can flag safety."""
    upstream = await scripted(
        Reply(body={"id": "t", "status": "failed", "fail_reason": "Blocked by moderation"})
    )
    snapshot = await make_provider(upstream.base_url).poll("t")
    assert snapshot.error_message == "Blocked by moderation"
    assert snapshot.safety_refusal is True


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("content_policy_violation", None, True),
        ("moderation_blocked", "", True),
        (None, "Your request was rejected by the safety system", True),
        ("generation_failed", "blocked: content_policy_violation", True),
        ("generation_failed", "call upstream API failed: upstream returned status 422", False),
        ("generation_failed", "call upstream API failed: upstream returned status 500", False),
        ("invalid_request", "moderation must be auto or low", False),
        ("generation_failed", "422 Unprocessable Entity", False),
        ("timeout", "task took 4220 seconds", False),
        (None, None, False),
    ],
)
def test_safety_failure_detection(code: str | None, message: str | None, expected: bool) -> None:
    """Only a policy or moderation code, or a message naming the safety system, is a refusal."""
    assert is_safety_failure(code, message) is expected


async def test_poll_unknown_task_raises_not_found_without_retrying(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """A 404 is permanent: one request, TaskNotFoundError."""
    with pytest.raises(TaskNotFoundError, match="does not know this task"):
        await provider.poll("tsk_img_missing")
    assert sandbox.count("poll") == 1


# ---------------------------------------------------------------------- download


async def test_a_lasting_404_is_tried_a_few_times_then_reported_as_expired(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """``dead_result_urls``: a paid result is not given up on the first 404, only on the last."""
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    sandbox.faults.dead_result_urls = True
    with pytest.raises(ResultUnavailableError, match=r"gone \(HTTP 404 after 5 tries"):
        await provider.download(snapshot.result_urls[0])
    assert sandbox.count("download") == 5
    waits = sleeps[-4:]
    assert len(waits) == 4 and waits[0] >= 0.75 and waits[-1] > waits[0], "backoff grows"


@pytest.mark.parametrize("kind", ["404", "500", "reset"])
async def test_one_failed_result_download_is_tried_again(
    provider: ToAPIsProvider, sandbox: Sandbox, kind: str
) -> None:
    """A 404 the CDN has not caught up with, a 5xx or a reset connection: the next try works."""
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    sandbox.add_fault(kind, "download")  # type: ignore[arg-type]
    assert (await provider.download(snapshot.result_urls[0])).startswith(b"\x89PNG")
    assert sandbox.count("download") == 2


async def test_a_403_on_a_result_link_is_not_tried_again(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    upstream = await scripted(Reply(status=403, body={"error": {"message": "signature expired"}}))
    with pytest.raises(ResultUnavailableError, match="HTTP 403"):
        await make_provider(upstream.base_url).download(f"{upstream.base_url}/files/x.png")
    assert len(upstream.seen) == 1


async def test_download_sends_no_api_key_but_api_calls_do(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """Result links are public and on another host in production: the key stays home."""
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    await provider.download(snapshot.result_urls[0])
    assert "Authorization" in sandbox.requests_to("submit")[0].headers
    assert "Authorization" not in sandbox.requests_to("download")[0].headers


async def test_download_is_retried_after_a_502(provider: ToAPIsProvider, sandbox: Sandbox) -> None:
    """A 5xx on a result file is transient."""
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    sandbox.add_fault("502", "download")
    assert (await provider.download(snapshot.result_urls[0])).startswith(b"\x89PNG")
    assert sandbox.count("download") == 2


async def test_download_slower_than_the_timeout_is_tried_again_then_said_to_time_out(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    """``download_delay`` beyond the request timeout is retried; the last try says it timed out."""
    provider = make_provider(sandbox.base_url, request_timeout=0.2, max_retries=1)
    snapshot = await provider.poll((await provider.submit(task())).task_id)
    sandbox.faults.download_delay = 2
    with pytest.raises(ResultUnavailableError, match=r"it timed out after 2 tries"):
        await provider.download(snapshot.result_urls[0])
    assert sandbox.count("download") == 2


# ---------------------------------------------------------------------- check


async def test_check_reports_base_url_balance_and_model(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """One line an admin can read."""
    line = await provider.check()
    assert line == f"ToAPIs reachable at {sandbox.base_url}, balance 100.00 (model gpt-image-2)"


async def test_check_reports_unlimited_balance(provider: ToAPIsProvider, sandbox: Sandbox) -> None:
    """``remain_balance == -1`` reads as unlimited."""
    sandbox.faults.balance = -1
    assert "balance unlimited" in await provider.check()


async def test_check_is_retried_after_an_html_gateway_page(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """The CDN's HTML 504 on the balance call is transient and retried."""
    sandbox.add_fault("html", "balance")
    assert (await provider.check()).startswith("ToAPIs reachable")
    assert sandbox.count("balance") == 2


async def test_base_url_with_v1_suffix_and_slash_is_accepted(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    """Admins paste ``…/v1/``; requests still go to ``/v1/...`` once."""
    provider = make_provider(f"{sandbox.base_url}/v1/")
    assert provider.base_url == sandbox.base_url
    assert "reachable" in await provider.check()


async def test_list_models_returns_image_model_ids(provider: ToAPIsProvider) -> None:
    """``type=image`` lists the image models only."""
    models = await provider.list_models()
    assert "gpt-image-2" in models
    assert "gpt-4o-mini" not in models


# ---------------------------------------------------------------------- error mapping


ERROR_CASES = [
    (
        400,
        {"error": {"code": "invalid_request", "message": "bad n"}},
        UpstreamRejectedError,
        "bad n",
    ),
    (413, {"error": {"message": "too big"}}, UpstreamRejectedError, "HTTP 413"),
    (
        401,
        {"error": {"code": 401, "message": "Authentication failed"}},
        AuthenticationError,
        "IMAGE_API_KEY",
    ),
    (403, {"error": {"code": "forbidden", "message": "no"}}, AuthenticationError, "HTTP 403"),
    (
        402,
        {"error": {"code": "insufficient_quota", "message": "no money"}},
        InsufficientQuotaError,
        "top it up",
    ),
    (404, {"error": {"code": 404, "message": "Task not found"}}, TaskNotFoundError, "HTTP 404"),
    (
        422,
        {"error": {"code": "content_policy_violation", "message": "no"}},
        SafetyRefusal,
        "safety system",
    ),
    (422, {"error": {"code": 422, "message": "Content policy violation"}}, SafetyRefusal, "safety"),
    (
        422,
        {"error": {"code": "invalid_size", "message": "size 7:5 unknown"}},
        UpstreamRejectedError,
        "HTTP 422",
    ),
    (
        500,
        {"error": {"code": "internal_error", "message": "oops"}},
        TransientUpstreamError,
        "HTTP 500",
    ),
    (502, {"error": {"code": "bad_gateway"}}, TransientUpstreamError, "HTTP 502"),
    (503, {"error": {"code": "rate_limit_unavailable"}}, TransientUpstreamError, "HTTP 503"),
]


@pytest.mark.parametrize(("status", "body", "error", "says"), ERROR_CASES)
async def test_http_errors_map_to_the_error_hierarchy(
    scripted: Callable[..., Awaitable[Scripted]],
    make_provider: ProviderFactory,
    status: int,
    body: dict[str, Any],
    error: type[EaselError],
    says: str,
) -> None:
    """Each documented status becomes its error class with an actionable one-line message."""
    upstream = await scripted(Reply(status=status, body=body))
    with pytest.raises(error) as caught:
        await make_provider(upstream.base_url, max_retries=0).poll("t1")
    assert type(caught.value) is error
    assert says in caught.value.user_message
    assert caught.value.user_message.endswith(".")
    assert "\n" not in caught.value.user_message


async def test_429_is_rate_limited_with_retry_after_from_the_header(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """The Retry-After header is carried on the error for the caller's scheduling."""
    upstream = await scripted(
        Reply(
            status=429,
            body={"error": {"code": "rate_limit_exceeded", "message": "slow down"}},
            headers={"Retry-After": "7"},
        )
    )
    with pytest.raises(RateLimitedError) as caught:
        await make_provider(upstream.base_url, max_retries=0).poll("t1")
    assert caught.value.retry_after == 7


async def test_html_gateway_page_is_transient_and_names_the_status(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """A non-JSON 504 page from the CDN is transient, and the message gives the status."""
    upstream = await scripted(
        Reply(
            status=504, text="<html><h1>504 Gateway Time-out</h1></html>", content_type="text/html"
        )
    )
    with pytest.raises(TransientUpstreamError) as caught:
        await make_provider(upstream.base_url, max_retries=0).poll("t1")
    assert "HTTP 504" in caught.value.user_message
    assert "error page" in caught.value.user_message


async def test_error_envelope_inside_a_200_is_mapped_by_its_code(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """Some gateways answer 200 with an error body; its code decides the error class."""
    upstream = await scripted(
        Reply(body={"error": {"code": "insufficient_quota", "message": "Balance too low"}})
    )
    with pytest.raises(InsufficientQuotaError):
        await make_provider(upstream.base_url, max_retries=0).poll("t1")


async def test_unreadable_200_body_is_transient(
    scripted: Callable[..., Awaitable[Scripted]], make_provider: ProviderFactory
) -> None:
    """A 200 that is JSON but not a task (no id) is retryable, not a crash."""
    upstream = await scripted(Reply(body={"unexpected": True}))
    with pytest.raises(TransientUpstreamError, match="could not read"):
        await make_provider(upstream.base_url, max_retries=0).poll("t1")


async def test_wrong_api_key_is_an_authentication_error_sent_once(
    make_provider: ProviderFactory,
) -> None:
    """With the sandbox requiring a key, a wrong one fails fast and is never retried."""
    async with Sandbox(api_key="the-right-key", task_duration=0) as sb:
        with pytest.raises(AuthenticationError) as caught:
            await make_provider(sb.base_url).submit(task())
        assert sb.count("submit") == 1
    assert caught.value.for_operator().endswith("Check IMAGE_API_KEY.")
    assert caught.value.for_member().endswith("An admin needs to check IMAGE_API_KEY.")


async def test_exhausted_balance_is_insufficient_quota(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """Balance 0 makes the sandbox answer 402 on submit."""
    sandbox.faults.balance = 0
    with pytest.raises(InsufficientQuotaError):
        await provider.submit(task())


async def test_api_key_never_appears_in_errors_logs_or_repr(
    provider: ToAPIsProvider, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is only ever in the Authorization header."""
    caplog.set_level(logging.DEBUG)
    sandbox.add_fault("500", "submit")
    sandbox.add_fault("html", "poll")
    with pytest.raises(TransientUpstreamError) as caught:
        await provider.submit(task())
    snapshot = await provider.submit(task(client_reference="easel-key"))
    await provider.poll(snapshot.task_id)
    error = caught.value
    texts = [caplog.text, str(error), error.user_message, error.detail, repr(provider)]
    assert all(API_KEY not in text for text in texts)


# ---------------------------------------------------------------------- retries


async def test_poll_retries_through_500_html_and_503_then_succeeds(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """Transient faults are retried with growing, jittered, capped backoff."""
    snapshot = await provider.submit(task())
    for kind in ("500", "html", "503"):
        sandbox.add_fault(kind, "poll")
    assert (await provider.poll(snapshot.task_id)).state is TaskState.COMPLETED
    assert sandbox.count("poll") == 4
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0.5 * 2**attempt <= delay <= min(BACKOFF_CAP, 2**attempt)


async def test_poll_429_waits_for_retry_after(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """The sandbox's 429 Retry-After is honoured (plus at most 10 % jitter)."""
    snapshot = await provider.submit(task())
    sandbox.add_fault("429", "poll", retry_after=3)
    await provider.poll(snapshot.task_id)
    assert len(sleeps) == 1
    assert 3 <= sleeps[0] <= 3.3


async def test_retry_after_beyond_the_cap_is_raised_not_slept(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """A 10-minute Retry-After goes back to the caller instead of blocking the job."""
    sandbox.add_fault("429", "poll", retry_after=600)
    with pytest.raises(RateLimitedError) as caught:
        await provider.poll("anything")
    assert caught.value.retry_after == 600
    assert sleeps == []


async def test_retries_stop_after_max_retries(
    sandbox: Sandbox, make_provider: ProviderFactory, sleeps: Sleeps
) -> None:
    """``max_retries=2`` means three attempts, then the last error."""
    provider = make_provider(sandbox.base_url, max_retries=2)
    sandbox.add_fault("500", "balance", times=5)
    with pytest.raises(TransientUpstreamError, match="HTTP 500"):
        await provider.check()
    assert sandbox.count("balance") == 3
    assert len(sleeps) == 2


async def test_poll_timeout_fault_is_retried(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    """A hanging upstream times out at ``request_timeout`` and the retry gets through."""
    provider = make_provider(sandbox.base_url, request_timeout=0.3)
    snapshot = await provider.submit(task())
    sandbox.add_fault("timeout", "poll", hang=5)
    assert (await provider.poll(snapshot.task_id)).state is TaskState.COMPLETED
    assert sandbox.count("poll") == 2


async def test_api_latency_knob_delays_but_does_not_break_calls(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """``latency`` slows every API call; the client simply waits."""
    sandbox.faults.latency = 0.2
    loop = asyncio.get_running_loop()
    start = loop.time()
    await provider.check()
    assert loop.time() - start >= 0.2


# ---------------------------------------------------------------------- submit idempotency


async def test_submit_429_is_resent_without_a_lookup(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """A 429 means "not accepted": resubmitting is safe even without a client reference."""
    sandbox.add_fault("429", "submit", retry_after=2)
    snapshot = await provider.submit(task())
    assert snapshot.task_id.startswith("tsk_img_")
    assert (sandbox.count("submit"), sandbox.count("poll")) == (2, 0)
    assert 2 <= sleeps[0] <= 2.2


@pytest.mark.parametrize("kind", ["502", "timeout"])
async def test_ambiguous_submit_after_acceptance_recovers_the_task_by_client_reference(
    sandbox: Sandbox, make_provider: ProviderFactory, kind: str
) -> None:
    """The task was created but the answer was lost: look it up, never submit it twice."""
    provider = make_provider(sandbox.base_url, request_timeout=0.3)
    sandbox.add_fault(kind, "submit", after=True, hang=5)  # type: ignore[arg-type]
    snapshot = await provider.submit(task(client_reference="easel-job-7"))
    assert sandbox.count("submit") == 1
    assert sandbox.stats().tasks == 1
    lookup = sandbox.requests_to("poll")
    assert [entry.path for entry in lookup] == ["/v1/images/generations/easel-job-7"]
    assert snapshot.task_id.startswith("tsk_img_")


async def test_ambiguous_submit_before_acceptance_is_resent_after_lookup_404(
    provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    """The lookup finds nothing (404), so the one resubmission creates the only task."""
    sandbox.add_fault("502", "submit")
    snapshot = await provider.submit(task(client_reference="easel-job-8"))
    assert (sandbox.count("submit"), sandbox.count("poll"), sandbox.stats().tasks) == (2, 1, 1)
    assert (await provider.poll("easel-job-8")).task_id == snapshot.task_id


@pytest.mark.parametrize("kind", ["500", "502", "html"])
async def test_ambiguous_submit_without_client_reference_is_never_resent(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps, kind: str
) -> None:
    """Without a way to check, resending could pay for two tasks: raise instead."""
    sandbox.add_fault(kind, "submit")  # type: ignore[arg-type]
    with pytest.raises(TransientUpstreamError):
        await provider.submit(task())
    assert (sandbox.count("submit"), sandbox.count("poll")) == (1, 0)
    assert sleeps == []


async def test_submit_is_resent_safely_when_the_connection_was_refused(
    make_provider: ProviderFactory,
) -> None:
    """Nothing listening means nothing accepted: retry, and the retry reaches the service."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sandbox = Sandbox(task_duration=0)

    async def start_upstream(_: float) -> None:
        await sandbox.start(port=port)

    provider = make_provider(f"http://127.0.0.1:{port}", sleep=Sleeps(hook=start_upstream))
    try:
        snapshot = await provider.submit(task())
        assert snapshot.state is TaskState.RUNNING
        assert sandbox.count("submit") == 1
    finally:
        await sandbox.stop()


# ---------------------------------------------------------------------- sessions


async def test_external_session_is_left_open_on_close(sandbox: Sandbox) -> None:
    """The caller owns a session it passed in."""
    async with aiohttp.ClientSession() as session:
        provider = ToAPIsProvider(
            sandbox.base_url, SecretStr(API_KEY), toapis_model_spec("gpt-image-2"), session=session
        )
        await provider.check()
        await provider.close()
        assert not session.closed
        assert "reachable" in await provider.check()


async def test_own_session_is_closed_on_close(sandbox: Sandbox) -> None:
    """Without a session the provider makes one and closes it."""
    async with ToAPIsProvider(
        sandbox.base_url, SecretStr(API_KEY), toapis_model_spec("gpt-image-2")
    ) as provider:
        await provider.check()
        session = provider.http.own_session
        assert session is not None
    assert session.closed


def test_requests_body_is_json_serialisable() -> None:
    """The generation body is plain JSON (enums already turned into strings)."""
    provider = ToAPIsProvider(
        "http://127.0.0.1:1", SecretStr(API_KEY), toapis_model_spec("gpt-image-2-official")
    )
    body = provider.generation_body(task(quality=Quality.HIGH, output_format=OutputFormat.PNG))
    assert json.loads(json.dumps(body)) == body


async def test_poll_without_retry_raises_the_first_transient_error(
    provider: ToAPIsProvider, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    """``retry=False`` leaves retry scheduling to the caller: one request, no sleeping."""
    snapshot = await provider.submit(task())
    sandbox.add_fault("503", "poll")
    with pytest.raises(TransientUpstreamError, match="HTTP 503"):
        await provider.poll(snapshot.task_id, retry=False)
    assert (sandbox.count("poll"), sleeps) == (1, [])
    assert (await provider.poll(snapshot.task_id, retry=False)).state is TaskState.COMPLETED


async def test_find_task_returns_the_task_for_a_client_reference_or_none(
    provider: ToAPIsProvider,
) -> None:
    """A restarted engine can ask whether an interrupted submit arrived."""
    assert await provider.find_task("easel-never-sent") is None
    snapshot = await provider.submit(task(client_reference="easel-sent"))
    found = await provider.find_task("easel-sent")
    assert found is not None
    assert found.task_id == snapshot.task_id
