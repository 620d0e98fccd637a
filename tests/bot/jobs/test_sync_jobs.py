"""Synchronous APIs in the engine: local tasks, free polls, streamed previews, lost calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot.jobs.engine import Engine
from bot.jobs.models import (
    InputImage,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobProgress,
    JobRequest,
    JobUploading,
)
from bot.jobs.records import JobRecord, JobState
from bot.options import Ratio, Resolution
from bot.sandbox.openai_server import Flavour, OpenAISandbox
from tests.bot.media import images
from tests.bot.media.images import size_of
from tests.support.engines import running_engine
from tests.support.providers import compat_provider, no_sleep


def png(size: tuple[int, int] = (300, 200), *, alpha: bool = False) -> bytes:
    return images.png(size, "teal", alpha=alpha)


async def run(engine: Engine, request: JobRequest) -> list[JobEvent]:
    events = []
    async with asyncio.timeout(20):
        async for event in engine.run(request):
            events.append(event)
    return events


@pytest.mark.parametrize("flavour", ["infinityblue", "starrise", "anyfast", "openai"])
async def test_each_sync_api_delivers_a_job_through_the_engine(
    tmp_path: Path, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    async with OpenAISandbox(flavour, call_duration=0.05) as server:
        provider = compat_provider(server, session)
        async with running_engine(provider, tmp_path) as engine:
            events = await run(engine, JobRequest(prompt="a harbour", ratio=Ratio.WIDE_16_9, n=2))
    final = events[-1]
    assert isinstance(final, JobCompleted), final
    assert [(image.width, image.height) for image in final.images] == [(1536, 864)] * 2
    assert not any(isinstance(event, JobUploading) for event in events)


async def test_polling_local_tasks_spends_none_of_the_upstream_budget(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with (
        OpenAISandbox("starrise", call_duration=0.3) as server,
        running_engine(compat_provider(server, session), tmp_path) as engine,
    ):
        await run(engine, JobRequest(prompt="a harbour"))
        assert engine.watcher.scheduler.queries == 0
        assert engine.watcher.local_scheduler.queries >= 1
        assert server.count("generate") == 1


async def test_streamed_partials_become_small_previews_never_the_result(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with (
        OpenAISandbox("openai", call_duration=0.6) as server,
        running_engine(compat_provider(server, session), tmp_path) as engine,
    ):
        events = await run(engine, JobRequest(prompt="a harbour", ratio=Ratio.LANDSCAPE_3_2))
    previews = [e for e in events if isinstance(e, JobProgress) and e.preview is not None]
    # Each poll shows the newest partial; on a busy machine one may be skipped, never reordered.
    indexes = [e.preview_index for e in previews]
    assert indexes and indexes == sorted(set(indexes)) and set(indexes) <= {0, 1}
    for event in previews:
        assert event.preview is not None and event.preview.startswith(b"\xff\xd8")
        assert max(size_of(event.preview)) <= 512
    final = events[-1]
    assert isinstance(final, JobCompleted)
    (image,) = final.images
    assert (image.width, image.height) == (1536, 1024)
    assert all(image.data != event.preview for event in previews)


async def test_an_edit_with_a_mask_goes_to_starrise_as_files(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("starrise", call_duration=0.05) as server:
        async with running_engine(compat_provider(server, session), tmp_path) as engine:
            request = JobRequest(
                prompt="replace the sky",
                edit=True,
                ratio=Ratio.AUTO,
                resolution=Resolution.R1K,
                references=(InputImage(filename="photo.png", data=png()),),
                mask=InputImage(filename="mask.png", data=png(alpha=True)),
            )
            events = await run(engine, request)
        (call,) = server.requests_to("edit")
    final = events[-1]
    assert isinstance(final, JobCompleted), final
    (image,) = final.images
    assert abs(image.width / image.height - 1.5) < 0.03  # auto: the photo's shape
    assert (
        set(call.files) == {"image", "mask"}
        and call.fields["size"] == f"{image.width}x{image.height}"
    )


class Recorder:
    def __init__(self) -> None:
        self.events: list[JobEvent] = []
        self.done = asyncio.Event()

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        self.events.append(event)
        if isinstance(event, JobCompleted | JobFailed):
            self.done.set()


async def wait_for_state(engine: Engine, job_id: str, state: JobState) -> JobRecord:
    async with asyncio.timeout(10):
        while True:
            job = await engine.get_job(job_id)
            assert job is not None
            if job.state is state:
                return job
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("state", [JobState.SUBMITTED, JobState.SUBMITTING])
async def test_a_sync_job_lost_to_a_restart_fails_with_a_retry(
    tmp_path: Path, session: aiohttp.ClientSession, state: JobState
) -> None:
    database = tmp_path / "easel.sqlite3"
    async with OpenAISandbox("starrise", call_duration=30) as server:
        async with running_engine(
            compat_provider(server, session), tmp_path / "files", database=database
        ) as engine:
            engine.observe("discord", Recorder())
            resolved = engine.validate(JobRequest(prompt="a harbour"))
            job = await engine.accept(resolved, origin="discord", user_id=1, channel_id=2)
            job = await wait_for_state(engine, job.id, JobState.SUBMITTED)
            if state is JobState.SUBMITTING:
                job.state = JobState.SUBMITTING
                await engine.store.save(job)
        # A new process: a new provider, which never heard of the call.
        recorder = Recorder()
        async with running_engine(
            compat_provider(server, session), tmp_path / "files", database=database
        ) as engine:
            engine.observe("discord", recorder)
            assert await engine.resume() == 1
            async with asyncio.timeout(10):
                await recorder.done.wait()
            stored = await engine.get_job(job.id)
    final = recorder.events[-1]
    assert isinstance(final, JobFailed)
    assert final.failure == "interrupted" and "Retry" in str(final.reason)
    assert stored is not None and stored.state is JobState.FAILED and stored.notified
    assert server.count("generate") == 1  # never sent again on its own


async def test_a_restart_within_the_process_still_finds_the_running_call(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    database = tmp_path / "easel.sqlite3"
    async with OpenAISandbox("starrise", call_duration=0.5) as server:
        provider = compat_provider(server, session)
        async with running_engine(provider, tmp_path / "files", database=database) as engine:
            engine.observe("discord", Recorder())
            resolved = engine.validate(JobRequest(prompt="a harbour"))
            job = await engine.accept(resolved, origin="discord", user_id=1, channel_id=2)
            await wait_for_state(engine, job.id, JobState.SUBMITTED)
        recorder = Recorder()
        async with running_engine(provider, tmp_path / "files", database=database) as engine:
            engine.observe("discord", recorder)
            await engine.resume()
            async with asyncio.timeout(10):
                await recorder.done.wait()
    assert isinstance(recorder.events[-1], JobCompleted)
    assert server.count("generate") == 1


async def test_infinityblue_with_two_of_three_calls_failing_delivers_one_and_says_why(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("infinityblue", call_duration=0.05) as server:
        server.add_fault("500", "generate", times=5)  # three calls, each retried once: two fail
        provider = compat_provider(server, session, sleep=no_sleep)
        async with running_engine(provider, tmp_path) as engine:
            events = await run(engine, JobRequest(prompt="a harbour", n=3))
    final = events[-1]
    assert isinstance(final, JobCompleted), final
    assert (len(final.images), final.missing) == (1, 2)
    shortfall = str(final.shortfall())
    assert shortfall.startswith("2 of 3 images failed: ")
    assert "HTTP 500" in shortfall


async def test_a_job_whose_every_call_failed_is_a_failure_not_an_empty_result(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("infinityblue", call_duration=0.05) as server:
        server.add_fault("500", "generate", times=6)
        provider = compat_provider(server, session, sleep=no_sleep)
        async with running_engine(provider, tmp_path) as engine:
            events = await run(engine, JobRequest(prompt="a harbour", n=3))
    assert isinstance(events[-1], JobFailed) and events[-1].failure == "upstream"
    assert not any(isinstance(event, JobCompleted) for event in events)
