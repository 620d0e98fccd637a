"""The OpenAI-compatible provider (task adapter and HTTP client), against each API's emulator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.errors import (
    AuthenticationError,
    EaselError,
    InputError,
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
from bot.providers.families import model_spec
from bot.providers.openai.models import GenerationBody
from bot.providers.openai.tasks import OpenAICompatProvider
from bot.sandbox.openai_server import Flavour, OpenAISandbox
from tests.bot.media import images
from tests.bot.media.images import size_of
from tests.support.providers import PROFILES, no_sleep, unreachable_provider


def png(size: tuple[int, int] = (96, 64), *, alpha: bool = False) -> bytes:
    return images.png(size, "navy", alpha=alpha)


def task(**changes: Any) -> TaskSpec:
    fields: dict[str, Any] = {
        "prompt": "a lighthouse at dusk",
        "ratio": Ratio.LANDSCAPE_3_2,
        "resolution": Resolution.R1K,
        "width": 1536,
        "height": 1024,
        "client_reference": f"easel-{uuid.uuid4().hex}",  # one per call, like the engine
    }
    return TaskSpec(**{**fields, **changes})


class Api:
    """An emulator and a provider pointed at it."""

    def __init__(self, server: OpenAISandbox, provider: OpenAICompatProvider) -> None:
        self.server = server
        self.provider = provider

    async def run(self, spec: TaskSpec, *, timeout: float = 10) -> TaskSnapshot:
        """Submit and poll until the local task ends; previews seen go to ``self.previews``."""
        self.previews: list[tuple[int, bytes]] = []
        snapshot = await self.provider.submit(spec)
        async with asyncio.timeout(timeout):
            while snapshot.state is TaskState.RUNNING:
                await asyncio.sleep(0.01)
                snapshot = await self.provider.poll(snapshot.task_id)
                index, frame = snapshot.preview_index, snapshot.preview
                seen = [i for i, _ in self.previews]
                if frame is not None and index is not None and index not in seen:
                    self.previews.append((index, frame))
        return snapshot

    async def images(self, spec: TaskSpec) -> list[bytes]:
        snapshot = await self.run(spec)
        return [await self.provider.download(url) for url in snapshot.result_urls]


async def open_api(
    flavour: Flavour,
    session: aiohttp.ClientSession,
    *,
    model: str | None = None,
    **options: Any,
) -> AsyncIterator[Api]:
    profile = PROFILES[flavour]
    async with OpenAISandbox(flavour, api_key="sk-test", call_duration=0.05) as server:
        provider = OpenAICompatProvider(
            profile,
            SecretStr("sk-test"),
            model_spec(profile, model),
            base_url=server.base_url,
            session=session,
            sleep=no_sleep,
            **options,
        )
        yield Api(server, provider)
        await provider.close()


@pytest.fixture(params=["infinityblue", "starrise", "openai"])
async def api(request: pytest.FixtureRequest, session: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async for opened in open_api(request.param, session):
        yield opened


@pytest.fixture
async def blue(session: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async for opened in open_api("infinityblue", session):
        yield opened


@pytest.fixture
async def starrise(session: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async for opened in open_api("starrise", session):
        yield opened


@pytest.fixture
async def openai(session: aiohttp.ClientSession) -> AsyncIterator[Api]:
    async for opened in open_api("openai", session):
        yield opened


async def upload(api: Api, *images: bytes) -> list[str]:
    return [
        await api.provider.upload_image(data, f"in{i}.png", "image/png")
        for i, data in enumerate(images)
    ]


# ---------------------------------------------------------------------------- generations


async def test_each_api_makes_images_of_the_requested_size(api: Api) -> None:
    images = await api.images(task(n=2))
    assert len(images) == 2
    assert all(size_of(image) == (1536, 1024) for image in images)


async def test_infinityblue_loops_for_n_without_sending_n(blue: Api) -> None:
    assert len(await blue.images(task(n=3))) == 3
    calls = blue.server.requests_to("generate")
    assert len(calls) == 3
    assert all("n" not in call.fields and "quality" not in call.fields for call in calls)


async def test_starrise_sends_n_once_where_it_is_native(starrise: Api) -> None:
    assert len(await starrise.images(task(n=3, quality=Quality.HIGH))) == 3
    (call,) = starrise.server.requests_to("generate")
    assert call.fields["n"] == 3 and call.fields["quality"] == "high"
    assert call.fields["size"] == "1536x1024"


async def test_starrise_gpt_image_2_c_loops_for_n(session: aiohttp.ClientSession) -> None:
    async for api in open_api("starrise", session, model="gpt-image-2-c"):
        assert len(await api.images(task(n=2))) == 2
        assert len(api.server.requests_to("generate")) == 2


async def test_jpeg_output_is_asked_for_where_the_api_takes_it(starrise: Api) -> None:
    (image,) = await starrise.images(task(output_format=OutputFormat.JPEG, compression=80))
    assert image.startswith(b"\xff\xd8")
    (call,) = starrise.server.requests_to("generate")
    assert call.fields["output_format"] == "jpeg" and call.fields["output_compression"] == 80


async def test_moderation_is_sent_on_generations_only(session: aiohttp.ClientSession) -> None:
    async for api in open_api("openai", session, moderation="low", partial_images=0):
        await api.images(task())
        refs = await upload(api, png())
        await api.images(task(reference_urls=tuple(refs), edit=True))
        assert api.server.requests_to("generate")[0].fields["moderation"] == "low"
        assert "moderation" not in api.server.requests_to("edit")[0].fields


async def test_polling_a_local_task_makes_no_request(starrise: Api) -> None:
    snapshot = await starrise.provider.submit(task())
    before = len(starrise.server.requests)
    for _ in range(20):
        await starrise.provider.poll(snapshot.task_id)
    assert len(starrise.server.requests) == before
    await starrise.run(task())


async def test_results_are_served_from_memory_once(starrise: Api) -> None:
    snapshot = await starrise.run(task())
    (url,) = snapshot.result_urls
    assert url.startswith("local://starrise/")
    await starrise.provider.download(url)
    with pytest.raises(ResultUnavailableError):
        await starrise.provider.download(url)


async def test_a_task_is_found_by_its_client_reference_in_this_process(starrise: Api) -> None:
    snapshot = await starrise.run(task(client_reference="easel-abc"))
    found = await starrise.provider.find_task("easel-abc")
    assert found is not None and found.task_id == snapshot.task_id
    assert await starrise.provider.find_task("easel-unknown") is None
    with pytest.raises(TaskNotFoundError, match="restarted"):
        await starrise.provider.poll("local_starrise_lost")


# ---------------------------------------------------------------------------- edits


async def test_infinityblue_edits_send_json_data_urls(blue: Api) -> None:
    refs = await upload(blue, png(), png((40, 80)))
    images = await blue.images(task(reference_urls=tuple(refs), edit=True))
    assert len(images) == 1
    (call,) = blue.server.requests_to("edit")
    assert call.transport == "json"
    assert call.fields["image"].startswith("<data url") and len(call.fields["images"]) == 1


async def test_a_mask_is_never_sent_to_infinityblue(blue: Api) -> None:
    refs = await upload(blue, png(), png(alpha=True))
    with pytest.raises(InputError, match="ignores masks"):
        await blue.provider.submit(task(reference_urls=(refs[0],), mask_url=refs[1], edit=True))
    assert blue.server.count("edit") == 0


async def test_starrise_edits_send_one_image_as_image_and_many_as_image_brackets(
    starrise: Api,
) -> None:
    one = await upload(starrise, png())
    await starrise.images(task(reference_urls=tuple(one), edit=True))
    many = await upload(starrise, png(), png(), png())
    await starrise.images(task(reference_urls=tuple(many), edit=True))
    first, second = starrise.server.requests_to("edit")
    assert first.transport == "multipart" and list(first.files) == ["image"]
    assert second.files == {"image[]": [len(png())] * 3}


async def test_starrise_masked_edit_sends_the_mask_file(starrise: Api) -> None:
    image, mask = await upload(starrise, png((64, 64)), png((64, 64), alpha=True))
    (result,) = await starrise.images(task(reference_urls=(image,), mask_url=mask, edit=True))
    assert size_of(result) == (1536, 1024)
    (call,) = starrise.server.requests_to("edit")
    assert set(call.files) == {"image", "mask"}


async def test_a_url_result_is_downloaded_at_once(session: aiohttp.ClientSession) -> None:
    async for api in open_api("starrise", session, model="gpt-image-2-c"):
        refs = await upload(api, png())
        (image,) = await api.images(task(reference_urls=tuple(refs), edit=True))
        assert image.startswith(b"\x89PNG")
        assert api.server.count("download") == 1


# ---------------------------------------------------------------------------- streaming


async def test_openai_streams_previews_and_delivers_only_the_final_image(openai: Api) -> None:
    images = await openai.images(task())
    assert [index for index, _ in openai.previews] == [0, 1]
    (image,) = images
    assert size_of(image) == (1536, 1024)
    assert all(preview != image for _, preview in openai.previews)
    (call,) = openai.server.requests_to("generate")
    assert call.fields["stream"] is True and call.fields["partial_images"] == 2


async def test_streamed_edits_read_image_edit_events(openai: Api) -> None:
    refs = await upload(openai, png())
    (image,) = await openai.images(task(reference_urls=tuple(refs), edit=True))
    assert size_of(image) == (1536, 1024) and openai.previews


async def test_a_stream_with_done_ends_cleanly(openai: Api) -> None:
    openai.server.faults.send_done = True
    assert len(await openai.images(task())) == 1


async def test_streamed_n_runs_one_stream_per_image(openai: Api) -> None:
    assert len(await openai.images(task(n=3))) == 3
    assert len(openai.server.requests_to("generate")) == 3


async def test_a_stream_that_ends_after_previews_fails_and_is_not_resent(openai: Api) -> None:
    openai.server.add_fault("stream_cut", "generate")
    snapshot = await openai.provider.submit(task())
    with pytest.raises(TransientUpstreamError) as caught:
        await wait_failure(openai, snapshot)
    assert caught.value.code == "stream_incomplete"
    assert openai.server.count("generate") == 1


async def test_an_error_inside_the_stream_is_raised(openai: Api) -> None:
    openai.server.add_fault("stream_error", "generate")
    snapshot = await openai.provider.submit(task())
    with pytest.raises(TransientUpstreamError) as caught:
        await wait_failure(openai, snapshot)
    assert "server error" in caught.value.user_message
    assert openai.server.count("generate") == 1


async def wait_failure(api: Api, snapshot: TaskSnapshot) -> None:
    async with asyncio.timeout(10):
        while True:
            await asyncio.sleep(0.01)
            await api.provider.poll(snapshot.task_id)  # raises the call's error


# ---------------------------------------------------------------------------- errors


async def fails_with(api: Api, spec: TaskSpec | None = None) -> EaselError:
    snapshot = await api.provider.submit(spec or task())
    try:
        await wait_failure(api, snapshot)
    except EaselError as exc:
        return exc
    raise AssertionError("the call did not fail")  # pragma: no cover


async def test_a_wrong_key_is_an_authentication_error(session: aiohttp.ClientSession) -> None:
    profile = PROFILES["starrise"]
    async with OpenAISandbox("starrise", api_key="sk-right", call_duration=0) as server:
        provider = OpenAICompatProvider(
            profile,
            SecretStr("sk-wrong"),
            model_spec(profile),
            base_url=server.base_url,
            session=session,
        )
        error = await fails_with(Api(server, provider))
        assert isinstance(error, AuthenticationError) and error.status == 401
        assert "sk-wrong" not in error.user_message


async def test_403_says_the_key_may_not_use_the_model(api: Api) -> None:
    api.server.add_fault("403", "generate")
    error = await fails_with(api)
    assert isinstance(error, AuthenticationError) and error.status == 403
    assert "verified" in error.user_message and api.server.count("generate") == 1


async def test_moderation_blocked_is_a_safety_refusal_never_retried(api: Api) -> None:
    api.server.faults.safety_fail_calls = 5
    error = await fails_with(api)
    assert isinstance(error, SafetyRefusal)
    assert "safety system" in error.user_message
    assert api.server.count("generate") == 1


async def test_no_balance_is_insufficient_quota_on_every_api(api: Api) -> None:
    api.server.faults.balance = 0
    error = await fails_with(api)
    assert isinstance(error, InsufficientQuotaError)
    assert "top it up" in error.user_message


async def test_a_bad_request_is_rejected_not_retried(blue: Api) -> None:
    with pytest.raises(UpstreamRejectedError) as caught:
        await blue.provider.client.generate(
            GenerationBody(model="gpt-image-2", prompt="x", background="transparent")
        )
    assert caught.value.status == 400 and "InfinityBlue refused" in caught.value.user_message
    assert blue.server.count("generate") == 1


async def test_an_unknown_model_is_not_found(session: aiohttp.ClientSession) -> None:
    async for api in open_api("starrise", session, model="gpt-image-9"):
        error = await fails_with(api)
        assert isinstance(error, TaskNotFoundError) and "model id" in error.user_message


async def test_too_large_is_413_rejected(starrise: Api) -> None:
    starrise.server.add_fault("413", "edit")
    refs = await upload(starrise, png())
    error = await fails_with(starrise, task(reference_urls=tuple(refs), edit=True))
    assert isinstance(error, UpstreamRejectedError) and error.status == 413


async def test_429_with_a_short_retry_after_is_retried(starrise: Api) -> None:
    starrise.server.add_fault("429", "generate", retry_after=1)
    assert len(await starrise.images(task())) == 1
    assert starrise.server.count("generate") == 2


async def test_429_with_a_long_retry_after_goes_back_at_once(starrise: Api) -> None:
    starrise.server.add_fault("429", "generate", retry_after=600)
    error = await fails_with(starrise)
    assert isinstance(error, RateLimitedError) and error.retry_after == 600
    assert starrise.server.count("generate") == 1


@pytest.mark.parametrize("kind", ["500", "502", "503", "html"])
async def test_server_errors_are_retried_once_then_raised(starrise: Api, kind: str) -> None:
    starrise.server.add_fault(kind, "generate", times=2)  # type: ignore[arg-type]
    error = await fails_with(starrise)
    assert isinstance(error, TransientUpstreamError)
    assert starrise.server.count("generate") == 2
    if kind == "html":
        assert error.code == "not_json" and "error page" in error.user_message


async def test_a_slow_call_times_out_after_the_profiles_minutes_and_is_not_resent(
    session: aiohttp.ClientSession,
) -> None:
    async for api in open_api("starrise", session, request_timeout=0.3):
        api.server.add_fault("timeout", "generate", hang=5)
        error = await fails_with(api)
        assert isinstance(error, TransientUpstreamError) and error.code == "timeout"
        assert api.server.count("generate") == 1


async def test_an_unreachable_api_is_a_transient_error(session: aiohttp.ClientSession) -> None:
    provider = unreachable_provider("openai", session)
    snapshot = await provider.submit(task())
    async with asyncio.timeout(10):
        while True:
            await asyncio.sleep(0.01)
            try:
                await provider.poll(snapshot.task_id)
            except TransientUpstreamError as exc:
                assert "connect" in exc.user_message
                break


async def test_check_lists_models_and_says_whether_ours_is_there(starrise: Api) -> None:
    line = await starrise.provider.check()
    assert "Starrise reachable" in line and "gpt-image-2 listed" in line


async def test_calls_of_different_jobs_run_at_the_same_time(session: aiohttp.ClientSession) -> None:
    """The loop limit is per job: the fair queue, not the provider, caps jobs at once."""
    async for api in open_api("starrise", session, loop_concurrency=1):
        api.server.faults.call_duration = 0.5
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(api.run(task()) for _ in range(6)))
        assert asyncio.get_running_loop().time() - started < 1.5


async def test_the_emulator_answers_400_to_a_size_an_older_openai_model_does_not_make(
    session: aiohttp.ClientSession,
) -> None:
    """What the real API does (§4.1), so Easel's own refusal is the only thing that saves it."""
    async for api in open_api("openai", session, model="gpt-image-1"):
        wide = task(ratio=Ratio.WIDE_16_9, resolution=Resolution.R2K, width=2048, height=1152)
        error = await fails_with(api, wide)
        assert isinstance(error, UpstreamRejectedError) and error.status == 400
        assert "1536x1024" in error.message
        (image,) = await api.images(task())  # 1536x1024 is one of its sizes
        assert size_of(image) == (1536, 1024)


async def test_a_stalled_stream_says_it_stalled_and_after_how_many_previews(
    session: aiohttp.ClientSession,
) -> None:
    async for api in open_api("openai", session, request_timeout=3):
        api.server.add_fault("stream_stall", "generate", hang=30)
        error = await fails_with(api)
        assert isinstance(error, TransientUpstreamError) and error.code == "stream_incomplete"
        assert error.message == (
            "OpenAI stopped streaming after 2 previews and sent no final image within "
            "3 seconds; try again."
        )
        assert api.server.count("generate") == 1


async def test_a_stream_that_ends_after_previews_says_how_many_came(openai: Api) -> None:
    openai.server.add_fault("stream_cut", "generate")
    error = await fails_with(openai)
    assert error.message == (
        "OpenAI ended the stream after 2 previews without the final image; try again."
    )


async def test_a_stream_that_ends_before_anything_does_not_claim_previews_came(
    openai: Api,
) -> None:
    openai.server.add_fault("stream_empty", "generate")
    error = await fails_with(openai)
    assert error.message == "OpenAI ended the stream without the final image; try again."
    assert openai.server.count("generate") == 1


async def test_a_timeout_is_said_in_seconds_when_it_is_seconds(
    session: aiohttp.ClientSession,
) -> None:
    async for api in open_api("starrise", session, request_timeout=1):
        api.server.add_fault("timeout", "generate", hang=30)
        error = await fails_with(api)
        assert error.message == "Starrise did not answer within 1 second; try again later."


async def test_account_problems_tell_the_member_to_ask_an_admin_and_the_operator_what_to_set(
    session: aiohttp.ClientSession,
) -> None:
    async for api in open_api("starrise", session):
        api.server.add_fault("402", "generate")
        error = await fails_with(api)
        core = "The Starrise account is out of balance."
        assert error.for_member() == f"{core} An admin needs to top it up."
        assert error.for_operator() == f"{core} Top up the Starrise account."


# ---------------------------------------------------------------------------- result links


@pytest.mark.parametrize("kind", ["404", "500", "reset"])
async def test_a_result_link_that_fails_once_is_fetched_again(
    session: aiohttp.ClientSession, kind: str
) -> None:
    """gpt-image-2-c edits answer with a URL: one bad answer on it does not lose a paid image."""
    async for api in open_api("starrise", session, model="gpt-image-2-c"):
        refs = await upload(api, png())
        api.server.add_fault(kind, "download")  # type: ignore[arg-type]
        (image,) = await api.images(task(reference_urls=tuple(refs), edit=True))
        assert size_of(image) == (1536, 1024)
        assert api.server.count("download") == 2


async def test_a_result_link_that_stays_gone_fails_the_call_as_expired(
    session: aiohttp.ClientSession,
) -> None:
    async for api in open_api("starrise", session, model="gpt-image-2-c"):
        refs = await upload(api, png())
        api.server.faults.dead_result_urls = True
        snapshot = await api.provider.submit(task(reference_urls=tuple(refs), edit=True))
        with pytest.raises(ResultUnavailableError, match="expired or is gone"):
            while True:
                snapshot = await api.provider.poll(snapshot.task_id)
                await asyncio.sleep(0.01)
        assert api.server.count("download") == 5


async def test_a_failed_call_sent_again_under_its_reference_runs_anew(starrise: Api) -> None:
    """The engine waits out an outage and submits the job again: a new call, not the failure."""
    starrise.server.add_fault("503", "generate", times=2)
    spec = task()
    with pytest.raises(TransientUpstreamError):
        await starrise.run(spec)
    again = await starrise.run(spec)
    assert again.state is TaskState.COMPLETED
    assert starrise.server.count("generate") == 3


# ---------------------------------------------------------------------------- fewer images


async def test_infinityblue_with_two_of_three_calls_failing_reports_the_shortfall(
    blue: Api,
) -> None:
    """One image per call: three calls start, five 500s mean two calls fail after their retry."""
    blue.server.add_fault("500", "generate", times=5)
    snapshot = await blue.run(task(n=3))
    assert snapshot.state is TaskState.COMPLETED
    assert len(snapshot.result_urls) == 1
    assert snapshot.shortfall_reason is not None and "HTTP 500" in str(snapshot.shortfall_reason)


async def test_a_native_n_call_answering_with_fewer_images_reports_it(starrise: Api) -> None:
    starrise.server.faults.short_results = 2
    snapshot = await starrise.run(task(n=3))
    assert len(snapshot.result_urls) == 1
    assert str(snapshot.shortfall_reason) == "Starrise sent 1 of the 3 asked for"


async def test_every_looped_call_failing_fails_the_task(blue: Api) -> None:
    blue.server.add_fault("500", "generate", times=6)
    with pytest.raises(TransientUpstreamError):
        await blue.run(task(n=3))
