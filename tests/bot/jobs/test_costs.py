"""Every job records its estimate when submitted and its final cost, by the price table."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.jobs import costs
from bot.jobs.engine import Engine
from bot.jobs.models import (
    InputImage,
    JobCompleted,
    JobFailed,
    JobRequest,
    JobSubmitted,
    ResolvedRequest,
)
from bot.jobs.records import JobRecord
from bot.options import Quality, Ratio, Resolution
from bot.providers.catalog import ModelSpec
from bot.providers.families import toapis_model_spec
from bot.providers.prices import UNKNOWN, ModelPrices, Price
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.bot.jobs.test_engine import png
from tests.support.engines import running_engine

# 1K 0.02 and 2K 0.04 per image; 4K unpublished; each input image 0.01.
PRICED = ModelPrices.model_validate(
    {"currency": "EUR", "image": {"1K": "0.02", "2K": "0.04"}, "input_image": "0.01"}
)


def spec(prices: ModelPrices = PRICED) -> ModelSpec:
    base = toapis_model_spec("gpt-image-2", edit_model=None)
    return base.model_copy(update={"prices": prices})


def resolved(**changes: Any) -> ResolvedRequest:
    request = JobRequest.model_validate({"prompt": "a fox", **changes})
    tier = request.resolution or Resolution.R1K
    return ResolvedRequest(request=request, resolution=tier, width=1024, height=1024)


def test_the_estimate_is_each_image_at_its_tier_plus_each_input_image() -> None:
    inputs = tuple(InputImage(filename=f"r{i}.png", data=b"") for i in range(2))
    estimate = costs.estimate(resolved(n=3, resolution="2K", references=inputs), spec())
    assert estimate == Decimal("0.04") * 3 + Decimal("0.01") * 2
    assert costs.currency(resolved(), spec()) == "EUR"


def test_an_unpublished_tier_makes_the_estimate_unknown_not_zero() -> None:
    assert costs.estimate(resolved(resolution="4K", ratio="16:9"), spec()) == UNKNOWN
    assert costs.estimate(resolved(), spec(ModelPrices())) == UNKNOWN


def test_a_quality_is_priced_by_its_own_entry() -> None:
    table = ModelPrices.model_validate({"image": {"1K": {"low": 0.01, "high": 0.1}}})
    assert costs.estimate(resolved(quality=Quality.HIGH, n=2), spec(table)) == Decimal("0.2")
    assert costs.estimate(resolved(), spec(table)) == UNKNOWN  # no quality sent, no default


@pytest.mark.parametrize(
    ("failure", "submitted", "expected"),
    [
        ("refusal", True, Decimal(0)),  # the API refused: refunded
        ("upstream", True, Decimal(0)),  # a failed task: refunded
        ("cancelled", False, Decimal(0)),  # never sent
        ("cancelled", True, Decimal("0.04")),  # the task ran on upstream
        ("timeout", True, Decimal("0.04")),
    ],
)
def test_a_failure_costs_what_the_api_charges_for_it(
    failure: Any, submitted: bool, expected: Decimal
) -> None:
    cost = costs.failed(resolved(n=2), spec(), failure, submitted=submitted, incurred=None)
    assert cost == expected


def test_a_failure_after_the_task_finished_costs_the_images_made() -> None:
    cost = costs.failed(resolved(n=2), spec(), "upstream", submitted=True, incurred=Decimal("1"))
    assert cost == Decimal("1")


# ---------------------------------------------------------------------------- through the engine


@pytest.fixture
def provider(sandbox: Sandbox, session: aiohttp.ClientSession) -> ToAPIsProvider:
    """The priced model of ``spec()``."""
    return ToAPIsProvider(sandbox.base_url, SecretStr("k"), spec(), session=session)


async def run(engine: Engine, request: JobRequest, *, cancel: bool = False) -> JobRecord:
    """Run a job to its end (cancelling it once submitted) and read its row back."""
    job_id = uuid.uuid4().hex
    async for event in engine.run(request, job_id=job_id):
        if cancel and isinstance(event, JobSubmitted):
            assert await engine.cancel(job_id)
        if isinstance(event, JobCompleted | JobFailed):
            break
    job = await engine.get_job(job_id)
    assert job is not None
    return job


def priced(job: JobRecord) -> tuple[str | None, Price | None, Price | None]:
    return job.currency, job.estimated_cost, job.cost


async def test_a_delivered_job_records_its_estimate_and_cost_from_the_price_table(
    engine: Engine,
) -> None:
    request = JobRequest(
        prompt="two foxes", ratio=Ratio.WIDE_16_9, resolution=Resolution.R2K, n=2,
        references=(InputImage(filename="r.png", data=png()),),
    )  # fmt: skip
    job = await run(engine, request)
    expected = Decimal("0.04") * 2 + Decimal("0.01")
    assert priced(job) == ("EUR", expected, expected)
    assert len(job.results) == 2


async def test_a_task_the_api_fails_costs_nothing(engine: Engine, sandbox: Sandbox) -> None:
    sandbox.faults.fail_tasks = 1
    job = await run(engine, JobRequest(prompt="a fox"))
    assert job.failure_kind == "upstream"
    assert priced(job) == ("EUR", Decimal("0.02"), Decimal(0))


async def test_images_made_but_not_downloadable_are_still_paid_for(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.dead_result_urls = True
    job = await run(engine, JobRequest(prompt="a fox", n=3))
    assert job.failure_kind == "upstream"
    assert job.cost == Decimal("0.06")


async def test_a_job_cancelled_after_submitting_is_billed_its_estimate(
    engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.task_duration = 5.0
    job = await run(engine, JobRequest(prompt="a fox", n=2), cancel=True)
    assert job.failure_kind == "cancelled"
    assert job.cost == Decimal("0.04")


async def test_an_unpublished_price_is_recorded_as_unknown(engine: Engine) -> None:
    request = JobRequest(prompt="a wide fox", ratio=Ratio.WIDE_16_9, resolution=Resolution.R4K)
    job = await run(engine, request)
    assert job.state == "delivered"
    assert priced(job) == ("EUR", UNKNOWN, UNKNOWN)


async def test_images_made_but_one_not_downloaded_cost_every_image_made(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Two made, one of them lost to a dead link: both are paid for, one is delivered."""
    async with aiohttp.ClientSession() as session:
        once = ToAPIsProvider(
            sandbox.base_url, SecretStr("k"), spec(), session=session, max_retries=0
        )
        sandbox.add_fault("404", "download")
        async with running_engine(once, tmp_path) as engine:
            job = await run(engine, JobRequest(prompt="a fox", n=2))
    assert len(job.results) == 1 and job.missing == 1
    assert job.cost == Decimal("0.02") * 2
