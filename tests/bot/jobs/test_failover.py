"""Failover: the next provider takes a job on an outage or no balance, never on a refusal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.errors import InputError
from bot.jobs.engine import Engine
from bot.jobs.models import (
    InputImage,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobRequest,
    JobWaiting,
)
from bot.jobs.records import JobRecord, JobState
from bot.options import Quality, Ratio, Resolution
from bot.providers.families import model_spec, toapis_model_spec
from bot.providers.openai.tasks import OpenAICompatProvider
from bot.providers.prices import ModelPrices
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.openai_server import OpenAISandbox
from bot.sandbox.server import Sandbox
from tests.bot.media import images
from tests.support.engines import fast_config, running_engine
from tests.support.providers import (
    PROFILES,
    compat_provider,
    no_sleep,
    toapis_provider,
    unreachable_provider,
)

sync_provider = partial(compat_provider, sleep=no_sleep)


def png(*, alpha: bool = False) -> bytes:
    return images.png((120, 80), "gold", alpha=alpha)


async def run(engine: Engine, request: JobRequest) -> tuple[list[JobEvent], JobRecord]:
    events: list[JobEvent] = []
    async with asyncio.timeout(20):
        async for event in engine.run(request, job_id="f" * 32):
            events.append(event)
    job = await engine.get_job("f" * 32)
    assert job is not None
    return events, job


@pytest.fixture
async def first() -> AsyncIterator[OpenAISandbox]:
    async with OpenAISandbox("starrise", call_duration=0.05) as server:
        yield server


@pytest.fixture
async def second() -> AsyncIterator[OpenAISandbox]:
    async with OpenAISandbox("openai", call_duration=0.05) as server:
        yield server


@pytest.mark.parametrize(
    ("fault", "calls_at_first"),
    [("502", 2), ("500", 2), ("html", 2), ("402", 1), ("429", 1)],  # 429: Retry-After 120 s
)
async def test_an_outage_or_no_balance_at_the_first_moves_the_job_to_the_next(
    tmp_path: Path,
    session: aiohttp.ClientSession,
    first: OpenAISandbox,
    second: OpenAISandbox,
    fault: str,
    calls_at_first: int,
) -> None:
    first.add_fault(fault, "generate", times=5, retry_after=120)  # type: ignore[arg-type]
    async with running_engine(
        sync_provider(first, session),
        tmp_path,
        label="Starrise · gpt-image-2",
        fallbacks=[sync_provider(second, session)],
    ) as engine:
        events, job = await run(engine, JobRequest(prompt="a harbour", n=2))
        label = engine.label_for(job)
    assert isinstance(events[-1], JobCompleted), events[-1]
    assert len(events[-1].images) == 2
    assert job.provider == "openai"
    assert str(label) == "OpenAI · gpt-image-2 · standing in for Starrise"
    assert first.count("generate") == calls_at_first
    assert second.count("generate") == 2  # streamed: one call per image


async def test_a_timeout_or_no_connection_moves_the_job_on(
    tmp_path: Path, session: aiohttp.ClientSession, second: OpenAISandbox
) -> None:
    unreachable = unreachable_provider("starrise", session)
    async with OpenAISandbox("infinityblue", call_duration=0.05) as slow:
        slow.add_fault("timeout", "generate", hang=5)
        hanging = sync_provider(slow, session, request_timeout=0.3)
        async with running_engine(
            unreachable, tmp_path, fallbacks=[hanging, sync_provider(second, session)]
        ) as engine:
            events, job = await run(engine, JobRequest(prompt="a harbour"))
    assert isinstance(events[-1], JobCompleted) and job.provider == "openai"


@pytest.mark.parametrize("fault", ["safety", "413"])
async def test_a_refusal_or_bad_request_never_moves_on(
    tmp_path: Path,
    session: aiohttp.ClientSession,
    first: OpenAISandbox,
    second: OpenAISandbox,
    fault: str,
) -> None:
    first.add_fault(fault, "generate")  # type: ignore[arg-type]
    async with running_engine(
        sync_provider(first, session), tmp_path, fallbacks=[sync_provider(second, session)]
    ) as engine:
        events, job = await run(engine, JobRequest(prompt="a harbour"))
    final = events[-1]
    assert isinstance(final, JobFailed)
    assert final.failure == ("refusal" if fault == "safety" else "upstream")
    assert second.count("generate") == 0 and job.provider == "starrise"


async def test_when_every_provider_is_down_the_member_hears_the_last_reason(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox, second: OpenAISandbox
) -> None:
    first.add_fault("503", "generate", times=5)
    second.faults.balance = 0
    async with running_engine(
        sync_provider(first, session), tmp_path, fallbacks=[sync_provider(second, session)]
    ) as engine:
        events, job = await run(engine, JobRequest(prompt="a harbour"))
    final = events[-1]
    assert isinstance(final, JobFailed) and "OpenAI account is out of balance" in str(final.reason)
    assert job.state is JobState.FAILED


async def test_a_provider_that_cannot_do_the_job_is_skipped(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox, second: OpenAISandbox
) -> None:
    first.add_fault("502", "edit", times=5)
    async with OpenAISandbox("infinityblue", call_duration=0.05) as blue:
        async with running_engine(
            sync_provider(first, session),
            tmp_path,
            fallbacks=[sync_provider(blue, session), sync_provider(second, session)],
        ) as engine:
            request = JobRequest(
                prompt="repaint the left half",
                edit=True,
                ratio=Ratio.AUTO,
                references=(InputImage(filename="in.png", data=png()),),
                mask=InputImage(filename="mask.png", data=png(alpha=True)),
            )
            events, job = await run(engine, request)
        assert blue.count("edit") == 0  # it would ignore the mask
    assert isinstance(events[-1], JobCompleted), events[-1]
    assert job.provider == "openai"
    (call,) = second.requests_to("edit")
    assert set(call.files) == {"image", "mask"}


async def test_a_fallback_without_quality_takes_the_job_without_it(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox
) -> None:
    first.add_fault("500", "generate", times=5)
    async with OpenAISandbox("infinityblue", call_duration=0.05) as blue:
        async with running_engine(
            sync_provider(first, session), tmp_path, fallbacks=[sync_provider(blue, session)]
        ) as engine:
            events, job = await run(engine, JobRequest(prompt="a harbour", quality=Quality.HIGH))
        (call,) = blue.requests_to("generate")
    assert isinstance(events[-1], JobCompleted)
    assert job.provider == "infinityblue" and job.request.quality is None
    assert "quality" not in call.fields


async def test_an_async_provider_can_stand_in_and_is_polled_after_a_restart(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox
) -> None:
    """Starrise is out of balance; ToAPIs takes the job; a restart polls ToAPIs, not Starrise."""
    first.faults.balance = 0
    database = tmp_path / "easel.sqlite3"
    async with Sandbox(task_duration=0.8, size_table="extended") as toapis_sandbox:
        toapis = ToAPIsProvider(
            toapis_sandbox.base_url,
            SecretStr("k"),
            toapis_model_spec("gpt-image-2", "extended"),
            session=session,
        )

        def restarted() -> AbstractAsyncContextManager[Engine]:
            """The engine (again, after a restart): the synchronous API first, ToAPIs behind."""
            return running_engine(
                sync_provider(first, session),
                tmp_path / "files",
                database=database,
                fallbacks=[toapis],
            )

        async with restarted() as engine:
            engine.observe("discord", Silent())
            resolved = engine.validate(JobRequest(prompt="a harbour", ratio=Ratio.LANDSCAPE_4_3))
            job = await engine.accept(resolved, origin="discord", user_id=1, channel_id=2)
            async with asyncio.timeout(10):
                while True:
                    stored = await engine.get_job(job.id)
                    assert stored is not None and stored.state is not JobState.FAILED
                    if stored.state is JobState.SUBMITTED and stored.provider == "toapis":
                        break
                    await asyncio.sleep(0.01)
        assert (stored.width, stored.height) == (1024, 768)  # ToAPIs' size for 4:3
        recorder = Silent()
        async with restarted() as engine:
            engine.observe("discord", recorder)
            await engine.resume()
            async with asyncio.timeout(10):
                await recorder.done.wait()
        assert isinstance(recorder.final, JobCompleted)
        assert toapis_sandbox.count("submit") == 1 and toapis_sandbox.count("poll") >= 1
    assert first.count("generate") == 1


class Silent:
    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.final: JobEvent | None = None

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        if isinstance(event, JobCompleted | JobFailed):
            self.final = event
            self.done.set()


def test_provider_names_must_be_unique(tmp_path: Path) -> None:
    profile = PROFILES["openai"]
    provider = OpenAICompatProvider(profile, SecretStr("k"), model_spec(profile))
    with pytest.raises(ValueError, match="unique"):
        Engine(provider, None, None, fallbacks=[provider])  # type: ignore[arg-type]


async def test_a_job_back_at_the_first_provider_after_a_restart_gets_its_sizes(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """It had moved to OpenAI (free sizes) and not been sent; ToAPIs' seed table has 4:3 at 2K."""
    async with OpenAISandbox("openai", call_duration=0.05) as server, Sandbox() as toapis_sandbox:
        toapis = toapis_provider(toapis_sandbox, session)
        async with running_engine(
            toapis, tmp_path, fallbacks=[sync_provider(server, session)]
        ) as engine:
            recorder = Silent()
            engine.observe("discord", recorder)
            request = JobRequest(prompt="a harbour", ratio=Ratio.LANDSCAPE_4_3)
            job = JobRecord(
                id="c" * 32,
                request=request,
                resolution=Resolution.R1K,
                width=1024,
                height=768,
                client_reference="easel-" + "c" * 32,
                provider="openai",
                state=JobState.UPLOADING,
                channel_id=1,
            )
            await engine.store.add(job)
            await engine.resume()
            async with asyncio.timeout(10):
                await recorder.done.wait()
            stored = await engine.get_job(job.id)
    assert isinstance(recorder.final, JobCompleted)
    assert stored is not None and stored.provider == "toapis"
    assert (stored.resolution, stored.width, stored.height) == (Resolution.R2K, 2048, 1536)
    assert server.count("generate") == 0


async def test_a_failed_over_job_is_estimated_and_costed_at_the_provider_that_took_it(
    tmp_path: Path,
    session: aiohttp.ClientSession,
    first: OpenAISandbox,
    second: OpenAISandbox,
) -> None:
    def priced(provider: OpenAICompatProvider, per_image: str) -> OpenAICompatProvider:
        table = ModelPrices.model_validate({"image": per_image, "input_image": 0})
        provider.spec = provider.spec.model_copy(update={"prices": table})
        return provider

    first.add_fault("502", "generate", times=5)
    async with running_engine(
        priced(sync_provider(first, session), "0.05"),
        tmp_path,
        fallbacks=[priced(sync_provider(second, session), "0.03")],
    ) as engine:
        _, job = await run(engine, JobRequest(prompt="a harbour", n=2))
    assert job.provider == "openai"
    assert (job.estimated_cost, job.cost) == (Decimal("0.06"), Decimal("0.06"))


# ------------------------------------------------------------------ an outage at submit


def one_submit_provider(sandbox: Sandbox, session: aiohttp.ClientSession) -> ToAPIsProvider:
    """ToAPIs without its own retries, so each engine round is one submit."""
    return toapis_provider(sandbox, session, max_retries=0, sleep=no_sleep)


@dataclass
class Outage:
    """A harbour drawn through a storm of 500s on submit: what came of it, and when."""

    events: list[JobEvent]
    job: JobRecord
    sandbox: Sandbox
    seconds: float


async def through_submit_outage(
    tmp_path: Path, session: aiohttp.ClientSession, *, budget: float, outage: float
) -> Outage:
    """Run one job while every submit answers 500 for ``outage`` seconds (``budget`` to wait)."""
    config = fast_config(submit_budget=budget, submit_backoff=0.05)
    async with Sandbox(task_duration=0.1) as sandbox:
        sandbox.add_fault("500", "submit", seconds=outage)
        provider = one_submit_provider(sandbox, session)
        async with running_engine(provider, tmp_path, config) as engine:
            started = time.monotonic()
            events, job = await run(engine, JobRequest(prompt="a harbour"))
        return Outage(events, job, sandbox, time.monotonic() - started)


async def test_a_submit_outage_shorter_than_the_budget_is_waited_out(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """A storm of 500s on submit: the job tries again with backoff and is made once it ends."""
    done = await through_submit_outage(tmp_path, session, budget=10.0, outage=0.5)
    waits = [event for event in done.events if isinstance(event, JobWaiting)]
    assert isinstance(done.events[-1], JobCompleted), done.events[-1]
    assert waits and "server error" in str(waits[0].reason)
    assert done.sandbox.stats().tasks == 1, "one task, however many tries"
    assert done.sandbox.count("submit") >= 3
    assert done.seconds < 5


async def test_a_submit_outage_longer_than_the_budget_fails_the_job(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    done = await through_submit_outage(tmp_path, session, budget=0.4, outage=30)
    last = done.events[-1]
    assert isinstance(last, JobFailed) and last.failure == "upstream"
    assert "HTTP 500" in str(last.reason)
    assert 0.4 <= done.seconds < 3
    assert done.sandbox.stats().tasks == 0 and done.job.state is JobState.FAILED


async def test_a_synchronous_call_that_timed_out_is_not_sent_again(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """After a timeout the service may have drawn (and billed) the image: no second call."""
    config = fast_config(submit_budget=10.0, submit_backoff=0.05)
    async with OpenAISandbox("starrise", call_duration=0.05) as server:
        server.add_fault("timeout", "generate", hang=3)
        slow = sync_provider(server, session, request_timeout=0.3)
        async with running_engine(slow, tmp_path, config) as engine:
            events, _ = await run(engine, JobRequest(prompt="a harbour"))
    assert isinstance(events[-1], JobFailed)
    assert server.count("generate") == 1


async def test_a_synchronous_api_answering_5xx_is_waited_out_too(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox
) -> None:
    config = fast_config(submit_budget=10.0, submit_backoff=0.05)
    first.add_fault("503", "generate", seconds=0.4)
    async with running_engine(sync_provider(first, session), tmp_path, config) as engine:
        events, _ = await run(engine, JobRequest(prompt="a harbour"))
    assert isinstance(events[-1], JobCompleted), events[-1]
    assert any(isinstance(event, JobWaiting) for event in events)


# ------------------------------------------------------------------ who can do the job


def masked_edit(prompt: str = "repaint the left half") -> JobRequest:
    return JobRequest(
        prompt=prompt,
        edit=True,
        ratio=Ratio.AUTO,
        references=(InputImage(filename="in.png", data=png()),),
        mask=InputImage(filename="mask.png", data=png(alpha=True)),
    )


async def test_a_mask_job_with_infinityblue_first_goes_to_the_next_provider_that_takes_masks(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox
) -> None:
    async with OpenAISandbox("infinityblue", call_duration=0.05) as blue:
        async with running_engine(
            sync_provider(blue, session), tmp_path, fallbacks=[sync_provider(first, session)]
        ) as engine:
            resolved = engine.validate(masked_edit())  # accepted, not refused
            events, job = await run(engine, masked_edit())
            label = engine.label_for(job)
        assert blue.count("edit") == 0
    assert resolved.request.mask is not None
    assert isinstance(events[-1], JobCompleted), events[-1]
    assert job.provider == "starrise"
    assert str(label) == "Starrise · gpt-image-2 · standing in for InfinityBlue"
    (call,) = first.requests_to("edit")
    assert set(call.files) == {"image", "mask"}


async def test_a_job_no_provider_can_do_is_refused_naming_why_for_each(
    tmp_path: Path, session: aiohttp.ClientSession, first: OpenAISandbox
) -> None:
    """A 40,000-character prompt: each service's own limit is named."""
    async with (
        OpenAISandbox("infinityblue", call_duration=0.05) as blue,
        running_engine(
            sync_provider(blue, session), tmp_path, fallbacks=[sync_provider(first, session)]
        ) as engine,
    ):
        with pytest.raises(InputError) as refused:
            engine.validate(masked_edit("x" * 40_000))
    message = refused.value.user_message
    assert "InfinityBlue:" in message and "Starrise:" in message
    assert "at most 1,000" in message and "at most 32,000" in message
