"""A job is recorded before its attachments are read; it reads and checks them itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.errors import InputError
from bot.jobs.engine import Engine
from bot.jobs.intake import pending_input
from bot.jobs.models import InputImage, JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.records import Delivery, JobRecord, JobState
from bot.options import Ratio
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.bot.media import images
from tests.support.engines import running_engine


def png(size: tuple[int, int] = (640, 360), *, alpha: bool = False) -> bytes:
    return images.png(size, "teal", alpha=alpha)


class Attachments:
    """An input source serving files by URL; ``gone`` URLs answer like an expired link."""

    def __init__(self, files: dict[str, bytes], *, flaky: int = 0) -> None:
        self.files = files
        self.gone: set[str] = set()
        self.flaky = flaky
        self.reads: list[str] = []
        self.release = asyncio.Event()
        self.release.set()

    async def read_input(self, url: str, filename: str) -> bytes:
        self.reads.append(url)
        await self.release.wait()
        if self.flaky:
            self.flaky -= 1
            raise OSError("connection reset by peer")
        if url in self.gone:
            raise InputError(f"`{filename}` can no longer be downloaded.", field="references")
        return self.files[url]


class Told:
    def __init__(self) -> None:
        self.finals: list[JobEvent] = []
        self.done = asyncio.Event()

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        if isinstance(event, JobCompleted | JobFailed):
            self.finals.append(event)
            self.done.set()


@pytest.fixture
def engine_files(tmp_path: Path) -> Path:
    return tmp_path / "files"


@asynccontextmanager
async def reading(
    provider: ToAPIsProvider, files: Path, source: Attachments, **options: Any
) -> AsyncIterator[tuple[Engine, Told]]:
    """A running engine that reads members' attachments from ``source`` and tells ``Told``."""
    told = Told()
    async with running_engine(provider, files, **options) as engine:
        engine.observe("discord", told)
        engine.read_inputs_with("discord", source)
        yield engine, told


def edit_request(*, mask: bool = False) -> JobRequest:
    return JobRequest(
        prompt="a red door",
        edit=True,
        ratio=Ratio.AUTO,
        references=(InputImage(filename="image1", data=b""),),
        mask=InputImage(filename="mask.png", data=b"") if mask else None,
    )


async def accept_edit(
    engine: Engine, urls: list[tuple[str, str]], *, mask: bool = False, start: bool = True
) -> JobRecord:
    resolved = engine.validate(edit_request(mask=mask))
    return await engine.accept(
        resolved,
        origin="discord",
        pending=[pending_input(name, url, "image/png") for name, url in urls],
        user_id=1,
        guild_id=2,
        channel_id=3,
        delivery=Delivery(application_id=9),
        start=start,
    )


async def test_a_job_with_attachments_is_recorded_first_then_reads_them_and_runs(
    engine_files: Path, provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    source = Attachments({"https://cdn/house.png": png()})
    source.release.clear()  # the download hangs: the job is already on record
    async with reading(provider, engine_files, source) as (engine, told):
        job = await accept_edit(engine, [("house.png", "https://cdn/house.png")])
        stored = await engine.get_job(job.id)
        assert stored is not None and stored.state is JobState.RECEIVING
        assert stored.inputs[0].source_url == "https://cdn/house.png" and not stored.inputs[0].path
        assert stored.request.references[0].filename == "house.png"
        source.release.set()
        await asyncio.wait_for(told.done.wait(), 20)
        done = await engine.get_job(job.id)
    assert isinstance(told.finals[0], JobCompleted), told.finals
    assert done is not None and done.inputs[0].path and done.inputs[0].source_url is None
    assert (done.width, done.height) == (1536, 864), "auto follows the first image's shape"
    assert sandbox.count("submit") == 1


async def test_a_restart_while_reading_reads_the_attachment_again(
    engine_files: Path, provider: ToAPIsProvider, sandbox: Sandbox, tmp_path: Path
) -> None:
    database = tmp_path / "easel.sqlite3"
    hanging = Attachments({"https://cdn/a.png": png()})
    hanging.release.clear()
    async with running_engine(provider, engine_files, database=database) as engine:
        engine.observe("discord", Told())
        engine.read_inputs_with("discord", hanging)
        job = await accept_edit(engine, [("a.png", "https://cdn/a.png")])
        while not hanging.reads:
            await asyncio.sleep(0.01)
    source = Attachments({"https://cdn/a.png": png()})
    async with reading(provider, engine_files, source, database=database) as (engine, told):
        assert await engine.resume() == 1
        await asyncio.wait_for(told.done.wait(), 20)
    assert isinstance(told.finals[0], JobCompleted)
    assert sandbox.count("submit") == 1 and job.id


async def test_an_attachment_gone_after_a_restart_fails_the_job_as_input_for_free(
    engine_files: Path, provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    source = Attachments({})
    source.gone.add("https://cdn/a.png")
    async with reading(provider, engine_files, source) as (engine, told):
        await accept_edit(engine, [("a.png", "https://cdn/a.png")])
        await asyncio.wait_for(told.done.wait(), 20)
    (final,) = told.finals
    assert isinstance(final, JobFailed) and final.failure == "input"
    assert "can no longer be downloaded" in str(final.reason)
    assert len(sandbox.requests) == 0


async def test_a_flaky_download_is_tried_again(
    engine_files: Path, provider: ToAPIsProvider
) -> None:
    source = Attachments({"https://cdn/a.png": png()}, flaky=1)
    async with reading(provider, engine_files, source) as (engine, told):
        await accept_edit(engine, [("a.png", "https://cdn/a.png")])
        await asyncio.wait_for(told.done.wait(), 20)
    assert isinstance(told.finals[0], JobCompleted) and len(source.reads) == 2


async def test_a_mask_of_another_shape_is_refused_before_any_upstream_request(
    engine_files: Path, provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    source = Attachments(
        {"https://cdn/a.png": png((640, 360)), "https://cdn/m.png": png((300, 300), alpha=True)}
    )
    async with reading(provider, engine_files, source) as (engine, told):
        job = await accept_edit(
            engine, [("a.png", "https://cdn/a.png"), ("m.png", "https://cdn/m.png")], mask=True
        )
        assert job.mask_file() is not None and job.reference_files()[0].filename == "a.png"
        await asyncio.wait_for(told.done.wait(), 20)
    (final,) = told.finals
    assert (
        isinstance(final, JobFailed) and final.failure == "input" and "m.png" in str(final.reason)
    )
    assert len(sandbox.requests) == 0


async def test_a_recorded_job_starts_on_launch_with_its_message(
    engine_files: Path, provider: ToAPIsProvider
) -> None:
    told = Told()
    async with running_engine(provider, engine_files) as engine:
        engine.observe("discord", told)
        resolved = engine.validate(JobRequest(prompt="a mill"))
        job = await engine.accept(
            resolved,
            origin="discord",
            channel_id=3,
            delivery=Delivery(application_id=9),
            start=False,
        )
        assert engine.active_jobs == 0 and job.state is JobState.QUEUED
        await engine.launch(job, message_id=42)
        await asyncio.wait_for(told.done.wait(), 20)
        stored = await engine.get_job(job.id)
    assert stored is not None and stored.delivery is not None
    assert stored.delivery.message_id == 42 and isinstance(told.finals[0], JobCompleted)


async def test_an_abandoned_job_is_recorded_and_its_hooks_run(
    engine_files: Path, provider: ToAPIsProvider, sandbox: Sandbox
) -> None:
    seen: list[str] = []

    async def hook(job: JobRecord, event: JobCompleted | JobFailed) -> None:
        seen.append(event.kind)

    async with running_engine(provider, engine_files) as engine:
        engine.on_finished(hook)
        job = await engine.accept(
            engine.validate(JobRequest(prompt="a mill")), origin="discord", start=False
        )
        await engine.abandon(job, "the interaction expired")
        stored = await engine.get_job(job.id)
        assert await engine.resume() == 0
    assert stored is not None and stored.state is JobState.FAILED and stored.notified
    assert seen == ["failed"] and len(sandbox.requests) == 0
