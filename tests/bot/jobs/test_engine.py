"""The engine end to end against the sandbox over loopback: events, faults and failures."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from bot.jobs.engine import Engine
from bot.jobs.models import (
    InputImage,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
    JobRequest,
    JobSubmitted,
    JobUploading,
)
from bot.jobs.queue import QueueLimits
from bot.jobs.records import JobState
from bot.options import OutputFormat, Ratio, Resolution
from bot.providers.base import UPSTREAM_TASKS
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from bot.store.jobs import JobRecord
from tests.bot.media import images
from tests.support.engines import fast_config, running_engine
from tests.support.providers import toapis_provider

SANDBOX_TASK_SECONDS = 0.3  # how long the sandbox takes over a task


@pytest.fixture
def provider(sandbox: Sandbox, session: aiohttp.ClientSession) -> ToAPIsProvider:
    """Retries without waiting."""
    return toapis_provider(sandbox, session, sleep=_no_sleep)


async def _no_sleep(_: float) -> None:
    return None


async def events_of(engine: Engine, request: JobRequest, **kw: object) -> list[JobEvent]:
    return [event async for event in engine.run(request, **kw)]  # type: ignore[arg-type]


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    return images.png(size, "teal")


async def test_a_job_reports_submitted_progress_and_completes_with_exact_sizes(
    engine: Engine,
) -> None:
    request = JobRequest(prompt="dunes", ratio=Ratio.WIDE_16_9, resolution=Resolution.R2K, n=2)
    events = await events_of(engine, request)
    kinds = [event.kind for event in events]
    assert kinds[0] == "submitted" and kinds[-1] == "completed"
    assert "progress" in kinds and "downloading" in kinds
    done = events[-1]
    assert isinstance(done, JobCompleted)
    assert [(image.width, image.height) for image in done.images] == [(2048, 1152)] * 2
    assert all(Image.open(io.BytesIO(image.data)).size == (2048, 1152) for image in done.images)
    percents = [event.percent for event in events if isinstance(event, JobProgress)]
    assert percents == sorted(percents)


async def test_the_submit_carries_a_client_reference_for_crash_recovery(
    engine: Engine, sandbox: Sandbox
) -> None:
    await events_of(engine, JobRequest(prompt="x"), job_id="abc123")
    body = sandbox.requests_to("submit")[0].body
    assert body["client_business_id"] == "easel-abc123"
    assert body["size"] == "1:1" and body["resolution"] == "1K"
    assert "quality" not in body and "output_format" not in body


async def test_jpeg_is_delivered_even_when_the_model_only_makes_png(engine: Engine) -> None:
    request = JobRequest(prompt="x", output_format=OutputFormat.JPEG, compression=80)
    done = (await events_of(engine, request))[-1]
    assert isinstance(done, JobCompleted)
    assert done.images[0].filename.endswith(".jpg")
    assert Image.open(io.BytesIO(done.images[0].data)).format == "JPEG"


async def test_references_are_uploaded_before_the_submit(engine: Engine, sandbox: Sandbox) -> None:
    images = tuple(InputImage(filename=f"r{i}.png", data=png()) for i in range(2))
    events = await events_of(engine, JobRequest(prompt="blend", references=images))
    uploading = [event for event in events if isinstance(event, JobUploading)]
    assert (uploading[-1].done, uploading[-1].total) == (2, 2)
    assert sandbox.count("upload") == 2
    assert len(sandbox.requests_to("submit")[0].body["reference_images"]) == 2


async def test_transient_poll_failures_are_ridden_out(engine: Engine, sandbox: Sandbox) -> None:
    sandbox.add_fault("503", "poll", times=3)
    sandbox.add_fault("html", "poll")
    sandbox.add_fault("429", "poll", retry_after=0)
    events = await events_of(engine, JobRequest(prompt="x"))
    assert isinstance(events[-1], JobCompleted)


async def test_a_429_on_status_queries_pauses_polling_for_retry_after(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.task_duration = 0.5
    sandbox.add_fault("429", "poll", retry_after=0.6)
    events = await events_of(engine, JobRequest(prompt="x"))
    assert isinstance(events[-1], JobCompleted)
    polls = sandbox.requests_to("poll")
    limited = next(i for i, entry in enumerate(polls) if entry.status == 429)
    assert polls[limited + 1].at - polls[limited].at >= 0.55  # nothing asked during Retry-After


async def test_a_failed_task_ends_with_its_reason(engine: Engine, sandbox: Sandbox) -> None:
    sandbox.faults.fail_tasks = 1
    failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(failed, JobFailed)
    assert failed.failure == "upstream" and failed.task_id
    assert "failed to make this image" in str(failed.reason)


async def test_a_task_failed_with_a_wrapped_422_is_told_as_a_failure_not_a_refusal(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.fail_tasks = 1
    sandbox.faults.fail_status = 422
    failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "upstream"
    assert "not a refusal" in str(failed.reason)
    assert "safety" not in str(failed.reason) and "eword" not in str(failed.reason)


async def test_a_safety_refusal_is_a_refusal(engine: Engine, sandbox: Sandbox) -> None:
    sandbox.faults.safety_fail_tasks = 1
    failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "refusal"
    assert "safety system" in str(failed.reason)
    assert sandbox.count("submit") == 1


async def test_expired_result_links_end_the_job_with_a_clear_reason(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.dead_result_urls = True
    failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "upstream"
    assert "expired or is gone" in str(failed.reason)
    assert sandbox.count("download") > 1, "a paid result is tried more than once"


async def test_one_404_on_a_result_download_does_not_fail_the_job(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.add_fault("404", "download")
    done = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(done, JobCompleted) and len(done.images) == 1
    assert sandbox.count("download") == 2


async def test_a_task_slower_than_the_deadline_times_out(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.faults.task_duration = 30
    async with aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        async with running_engine(provider, tmp_path, fast_config(job_timeout=0.3)) as engine:
            failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "timeout"
    assert failed.task_id and failed.task_id in str(failed.reason)


async def test_a_timeout_is_worded_for_the_terminal_or_for_discord(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The command line is told the setting and the time in words; a member to try later."""
    sandbox.faults.task_duration = 30
    told: list[JobFailed] = []

    class Member:
        async def on_event(self, job: JobRecord, event: JobEvent) -> None:
            if isinstance(event, JobFailed):
                told.append(event)

    async with aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        async with running_engine(provider, tmp_path, fast_config(job_timeout=0.3)) as engine:
            failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
            engine.observe("discord", Member())
            resolved = engine.validate(JobRequest(prompt="x"))
            await engine.accept(resolved, origin="discord", user_id=1, channel_id=2)
            async with asyncio.timeout(10):
                while not told:
                    await asyncio.sleep(0.02)
    assert isinstance(failed, JobFailed)
    assert str(failed.reason).startswith("ToAPIs did not finish within 0.3 seconds. Task ")
    assert "JOB_TIMEOUT" in str(failed.reason) and "`" not in str(failed.reason)
    (member,) = told
    assert str(member.reason).startswith(
        "ToAPIs did not finish within 0.3 seconds. Please try again"
    )
    assert "JOB_TIMEOUT" not in str(member.reason)


async def test_an_input_error_costs_no_upstream_call(engine: Engine, sandbox: Sandbox) -> None:
    failed = (await events_of(engine, JobRequest(prompt="x", n=11)))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "input"
    assert len(sandbox.requests) == 0


async def test_a_corrupt_reference_is_an_input_error_before_any_upload(
    engine: Engine, sandbox: Sandbox
) -> None:
    bad = InputImage(filename="bad.png", data=b"\x89PNG\r\n\x1a\ngarbage")
    failed = (await events_of(engine, JobRequest(prompt="x", references=(bad,))))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "input"
    assert "bad.png" in str(failed.reason)
    assert sandbox.count("upload") == 0


async def test_a_bad_key_is_a_clear_upstream_failure(tmp_path: Path) -> None:
    async with Sandbox(api_key="right") as sandbox, aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session, key="wrong")
        async with running_engine(provider, tmp_path) as engine:
            failed = (await events_of(engine, JobRequest(prompt="x")))[-1]
    assert isinstance(failed, JobFailed) and failed.failure == "upstream"
    assert "IMAGE_API_KEY" in str(failed.reason)


async def test_jobs_beyond_the_concurrency_cap_report_their_queue_position(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        config = fast_config(queue=QueueLimits(global_jobs=1))
        async with running_engine(provider, tmp_path, config) as engine:
            first = engine.run(JobRequest(prompt="first"))
            assert isinstance(await anext(first), JobSubmitted)  # holds the only slot
            second = asyncio.create_task(events_of(engine, JobRequest(prompt="second")))
            rest = [event async for event in first]
            second_events = await asyncio.wait_for(second, 10)
    assert isinstance(rest[-1], JobCompleted)
    assert isinstance(second_events[0], JobQueued) and second_events[0].position == 1
    assert isinstance(second_events[-1], JobCompleted)


async def test_jobs_are_read_back_by_id_prefix_member_and_stored_file(engine: Engine) -> None:
    resolved = engine.validate(JobRequest(prompt="x", ratio=Ratio.WIDE_16_9))
    job_id = "feedface" + "0" * 24
    await engine.accept(resolved, origin="cli", user_id=7, guild_id=9, job_id=job_id)
    for _ in range(300):
        job = await engine.get_job("feedface")  # the short id members see
        if job is not None and job.state.finished:
            break
        await asyncio.sleep(0.02)
    assert job is not None and job.id == job_id and job.resolved() == resolved
    assert [j.id for j in await engine.recent_jobs(7, guild_id=9)] == [job_id]
    assert await engine.recent_jobs(7, guild_id=10) == []
    (image,) = await engine.load_results(job)
    assert await engine.read_file(job.results[0]) == image.data


async def test_the_providers_declared_traits_decide_polling_and_upload_progress(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Each trait is read on its own: here ToAPIs is told its polls are free, uploads instant."""
    async with aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        provider.traits = UPSTREAM_TASKS.model_copy(
            update={"polled_upstream": False, "instant_uploads": True}
        )
        async with running_engine(provider, tmp_path) as engine:
            request = JobRequest(prompt="x", references=(InputImage(filename="r.png", data=png()),))
            events = await events_of(engine, request)
            assert isinstance(events[-1], JobCompleted)
            assert engine.watcher.scheduler.queries == 0  # the free scheduler polled instead
            assert engine.watcher.local_scheduler.queries >= 1
    assert not any(isinstance(event, JobUploading) for event in events)
    assert sandbox.count("upload") == 1  # the upload still happened, just without progress


# ---------------------------------------------------------------------- fewer images than asked


async def test_a_task_with_fewer_images_than_asked_delivers_them_and_says_so(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.short_results = 1
    done = (await events_of(engine, JobRequest(prompt="x", n=3), job_id="d" * 32))[-1]
    assert isinstance(done, JobCompleted)
    assert (len(done.images), done.missing) == (2, 1)
    assert (
        str(done.shortfall()) == "1 of 3 images failed: the image service sent 2 of the 3 asked for"
    )
    job = await engine.get_job("d" * 32)
    assert job is not None and job.state is JobState.DELIVERED and job.failure_kind is None
    assert job.missing == 1 and job.failure_reason == done.missing_reason


async def test_a_result_that_cannot_be_downloaded_costs_only_itself(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session, max_retries=0)
        sandbox.add_fault("404", "download")
        async with running_engine(provider, tmp_path) as engine:
            done = (await events_of(engine, JobRequest(prompt="x", n=2)))[-1]
    assert isinstance(done, JobCompleted) and len(done.images) == 1
    assert done.missing == 1 and "expired or is gone" in str(done.missing_reason)
