"""The process's metrics: jobs, images and upstream requests counted from a real engine's work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.jobs.engine import Engine
from bot.jobs.models import JobCompleted, JobFailed, JobRequest
from bot.jobs.queue import QueueLimits
from bot.ops.metrics import Metrics
from bot.providers.families import toapis_model_spec
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.openai_server import OpenAISandbox
from bot.sandbox.server import Sandbox
from tests.support.engines import fast_config, running_engine
from tests.support.providers import compat_provider, toapis_provider


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def engine(sandbox: Sandbox, metrics: Metrics, tmp_path: Path) -> AsyncIterator[Engine]:
    async with aiohttp.ClientSession(trace_configs=[metrics.upstream_trace()]) as session:
        provider = toapis_provider(sandbox, session, sleep=_no_sleep, max_retries=0)
        config = fast_config(queue=QueueLimits(global_jobs=1))
        async with running_engine(provider, tmp_path, config) as engine:
            metrics.watch_engine(engine)
            yield engine


async def _no_sleep(_: float) -> None:
    return None


def value(metrics: Metrics, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def finish(engine: Engine, request: JobRequest) -> JobCompleted | JobFailed:
    """Run a job until its work is over: the final event, then the row saved as told."""
    outcome: JobCompleted | JobFailed | None = None
    async for event in engine.run(request):
        if isinstance(event, JobCompleted | JobFailed):
            outcome = event
    assert outcome is not None, "the job never finished"
    for _ in range(100):  # the listener hears the event before the job is marked told
        if engine.active_jobs == 0:
            break
        await asyncio.sleep(0.01)
    return outcome


async def test_jobs_and_delivered_images_are_counted_by_kind_outcome_and_provider(
    engine: Engine, metrics: Metrics, sandbox: Sandbox
) -> None:
    assert isinstance(await finish(engine, JobRequest(prompt="a", n=2)), JobCompleted)
    assert isinstance(await finish(engine, JobRequest(prompt="b")), JobCompleted)
    sandbox.faults.fail_tasks = 1
    assert isinstance(await finish(engine, JobRequest(prompt="c")), JobFailed)

    assert value(metrics, "easel_jobs_accepted_total", kind="imagine") == 3
    completed = {"kind": "imagine", "outcome": "completed", "provider": "toapis"}
    assert value(metrics, "easel_jobs_finished_total", **completed) == 2
    failed = {"kind": "imagine", "outcome": "upstream", "provider": "toapis"}
    assert value(metrics, "easel_jobs_finished_total", **failed) == 1
    assert value(metrics, "easel_images_delivered_total", kind="imagine", provider="toapis") == 3
    durations = {"kind": "imagine", "outcome": "completed"}
    assert value(metrics, "easel_job_duration_seconds_count", **durations) == 2
    assert value(metrics, "easel_jobs_untold_total", kind="imagine") == 0


async def test_a_refused_input_counts_as_finished_with_no_provider(
    engine: Engine, metrics: Metrics
) -> None:
    request = JobRequest(prompt="x", n=1, compression=50)  # compression needs jpeg or webp

    event = await finish(engine, request)

    assert isinstance(event, JobFailed) and event.failure == "input"
    assert value(metrics, "easel_jobs_accepted_total", kind="imagine") == 0  # never accepted


async def test_upstream_requests_are_counted_by_provider_endpoint_and_status(
    engine: Engine, metrics: Metrics, sandbox: Sandbox
) -> None:
    sandbox.add_fault("500", "submit")
    await finish(engine, JobRequest(prompt="down"))  # max_retries=0: the 500 fails the job
    await finish(engine, JobRequest(prompt="up"))

    submit = {"provider": "toapis", "endpoint": "/v1/images/generations"}
    assert value(metrics, "easel_upstream_requests_total", **submit, status="500") == 1
    assert value(metrics, "easel_upstream_requests_total", **submit, status="200") == 1
    # Status queries, and the lookup by client reference after the ambiguous 500 (a 404).
    polls = {
        sample.labels["status"]: sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "easel_upstream_requests_total"
        and sample.labels["endpoint"] == "/v1/images/generations/{id}"
    }
    assert sum(polls.values()) == sandbox.count("poll")
    assert polls["404"] == 1 and polls["200"] >= 1
    downloads = {"provider": "toapis", "endpoint": "download", "status": "200"}
    assert value(metrics, "easel_upstream_requests_total", **downloads) == 1
    latency = value(metrics, "easel_upstream_request_duration_seconds_count", **submit)
    assert latency == 2


async def test_a_request_that_gets_no_answer_is_counted_by_its_cause(
    metrics: Metrics, unused_tcp_port: int
) -> None:
    async with aiohttp.ClientSession(trace_configs=[metrics.upstream_trace()]) as session:
        provider = ToAPIsProvider(
            f"http://127.0.0.1:{unused_tcp_port}",
            SecretStr("k"),
            toapis_model_spec("gpt-image-2"),
            session=session,
            sleep=_no_sleep,
            max_retries=0,
        )
        with pytest.raises(Exception, match="connect"):
            await provider.poll("task_1", retry=False)

    labels = {"provider": "toapis", "endpoint": "/v1/images/generations/{id}"}
    assert value(metrics, "easel_upstream_requests_total", **labels, status="refused") == 1


async def test_queue_running_jobs_and_the_poll_budget_are_read_at_scrape_time(
    engine: Engine, metrics: Metrics, sandbox: Sandbox
) -> None:
    sandbox.faults.task_duration = 30
    first = asyncio.ensure_future(finish(engine, JobRequest(prompt="slow")))
    second = asyncio.ensure_future(finish(engine, JobRequest(prompt="waits")))
    try:
        for _ in range(200):
            if engine.watcher.scheduler.queries >= 2 and engine.queue.waiting == 1:
                break
            await asyncio.sleep(0.02)

        assert value(metrics, "easel_queue_running") == 1
        assert value(metrics, "easel_queue_waiting") == 1
        submitted = {"kind": "imagine", "state": "submitted"}
        assert value(metrics, "easel_jobs_in_progress", **submitted) == 1
        assert value(metrics, "easel_jobs_in_progress", kind="imagine", state="queued") == 1
        queries = engine.watcher.scheduler.queries
        assert queries >= 2
        assert value(metrics, "easel_upstream_status_queries_total") == queries
        assert value(metrics, "easel_upstream_status_queries_last_minute") == queries
        assert value(metrics, "easel_upstream_status_query_budget_per_minute") == 60_000
        assert value(metrics, "easel_upstream_tasks_watched") == 1
    finally:
        first.cancel()
        second.cancel()
        await asyncio.gather(first, second, return_exceptions=True)


def test_the_text_format_parses_and_loop_lag_is_a_histogram(metrics: Metrics) -> None:
    metrics.loop_lag.observe(0.003)

    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}

    assert families["easel_event_loop_lag_seconds"].type == "histogram"
    assert "process_cpu_seconds" in families or "python_info" in families
    counts = [
        s for s in families["easel_event_loop_lag_seconds"].samples if s.name.endswith("_count")
    ]
    assert counts[0].value == 1


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.jobs_accepted.labels("imagine").inc()

    assert first.registry.get_sample_value("easel_jobs_accepted_total", {"kind": "imagine"}) == 1
    assert (
        second.registry.get_sample_value("easel_jobs_accepted_total", {"kind": "imagine"}) is None
    )


async def test_an_openai_compatible_provider_names_itself_on_its_requests(
    metrics: Metrics, tmp_path: Path
) -> None:
    async with (
        OpenAISandbox("starrise", call_duration=0.05) as server,
        aiohttp.ClientSession(trace_configs=[metrics.upstream_trace()]) as session,
    ):
        provider = compat_provider(server, session)
        async with running_engine(provider, tmp_path) as engine:
            metrics.watch_engine(engine)
            assert isinstance(await finish(engine, JobRequest(prompt="a")), JobCompleted)

    generations = {"provider": "starrise", "endpoint": "/v1/images/generations", "status": "200"}
    assert value(metrics, "easel_upstream_requests_total", **generations) == 1
    done = {"kind": "imagine", "outcome": "completed", "provider": "starrise"}
    assert value(metrics, "easel_jobs_finished_total", **done) == 1
