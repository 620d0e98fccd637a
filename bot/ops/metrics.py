"""What ``/metrics`` serves: jobs, images, upstream requests, the queue, the poll budget, the loop.

Every collector lives in one ``CollectorRegistry`` per ``Metrics`` (never the library's global
one), so several bots can run in one test process. The engine and the providers know nothing of
Prometheus: jobs are counted through the engine's ``JobMonitor`` interface, upstream requests
through an aiohttp trace config on the providers' session, and what the engine holds right now
(queue, running jobs, the status-query budget) is read when Prometheus scrapes. The Discord side
adds its own collectors to the same registry (``bot.client_metrics``).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import aiohttp
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.jobs.models import JobCompleted, JobFailed
from bot.jobs.records import JobRecord
from bot.ops.http_trace import RequestDone, request_trace

if TYPE_CHECKING:
    from bot.jobs.engine import Engine

CONTENT_TYPE = CONTENT_TYPE_LATEST
NO_PROVIDER = "none"  # a job that failed before any provider took it (a refused input)

# Upstream calls take from 50 ms (a status query) to minutes (a 4K image from a synchronous API).
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# A job takes from seconds (a refusal) to a quarter of an hour (4K at high quality).
JOB_BUCKETS = (1.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0)
# Lag of a healthy loop is well under 10 ms; a blocked one shows in the top buckets.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Declare:
    """Declares collectors in one registry: a metric is its name, help and labels."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def counter(self, name: str, doc: str, *labels: str) -> Counter:
        """A counter with these labels."""
        return Counter(name, doc, labels, registry=self.registry)

    def histogram(self, name: str, doc: str, *labels: str, buckets: Sequence[float]) -> Histogram:
        """A histogram with these labels and buckets."""
        return Histogram(name, doc, labels, buckets=buckets, registry=self.registry)


def gauges(*rows: tuple[str, str, float]) -> Iterator[GaugeMetricFamily]:
    """Unlabelled gauges read at scrape time: (name, help, value) each."""
    for name, doc, value in rows:
        yield GaugeMetricFamily(name, doc, value=value)


class Metrics:
    """This process's collectors and the hooks that feed them."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # CPU, memory, open files (Linux)
        PlatformCollector(registry=registry)  # the Python version
        GCCollector(registry=registry)  # the interpreter's garbage collections
        new = Declare(registry)
        self.jobs_accepted = new.counter(
            "easel_jobs_accepted", "Jobs accepted (persisted and started), by kind.", "kind"
        )
        self.jobs_finished = new.counter(
            "easel_jobs_finished",
            "Jobs whose outcome is known, by kind, outcome (completed or the failure kind) "
            "and the provider that took them.",
            *("kind", "outcome", "provider"),
        )
        self.jobs_untold = new.counter(
            "easel_jobs_untold",
            "Finished jobs whose member could not be told (told again at the next start).",
            "kind",
        )
        self.job_duration = new.histogram(
            "easel_job_duration_seconds",
            "From acceptance to the outcome, by kind and outcome.",
            *("kind", "outcome"),
            buckets=JOB_BUCKETS,
        )
        self.images_delivered = new.counter(
            "easel_images_delivered",
            "Images delivered to members, by job kind and provider.",
            *("kind", "provider"),
        )
        self.upstream_requests = new.counter(
            "easel_upstream_requests",
            "HTTP requests to the image APIs, by provider, endpoint and status (the HTTP "
            "status, or dns, refused, tls, timeout, disconnected or network without an answer).",
            *("provider", "endpoint", "status"),
        )
        self.upstream_latency = new.histogram(
            "easel_upstream_request_duration_seconds",
            "Time from sending a request to an image API to its answer's headers.",
            *("provider", "endpoint"),
            buckets=UPSTREAM_BUCKETS,
        )
        self.loop_lag = new.histogram(
            "easel_event_loop_lag_seconds",
            "How late the event loop woke a task sleeping 100 ms (a blocked loop shows here).",
            buckets=LAG_BUCKETS,
        )

    def render(self) -> bytes:
        """Everything, in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)

    def watch_engine(self, engine: Engine) -> None:
        """Count the engine's jobs and expose its queue and poll budget (once per engine)."""
        engine.monitor(_JobCounter(self))
        self.registry.register(EngineCollector(engine))

    def upstream_trace(self) -> aiohttp.TraceConfig:
        """A trace config for the image APIs' session: counts and times every request."""
        return request_trace(self._upstream_request)

    def _upstream_request(self, done: RequestDone) -> None:
        context = done.context if isinstance(done.context, dict) else {}
        provider = str(context.get("provider", "unknown"))
        endpoint = str(context.get("endpoint", "unknown"))
        self.upstream_requests.labels(provider, endpoint, done.outcome).inc()
        self.upstream_latency.labels(provider, endpoint).observe(done.seconds)


class _JobCounter:
    """The engine's ``JobMonitor``: counts jobs and delivered images."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def job_accepted(self, job: JobRecord) -> None:
        self._metrics.jobs_accepted.labels(job.kind).inc()

    def job_told(self, job: JobRecord, event: JobCompleted | JobFailed, *, delivered: bool) -> None:
        metrics = self._metrics
        outcome = "completed" if isinstance(event, JobCompleted) else event.failure
        provider = job.provider or NO_PROVIDER
        metrics.jobs_finished.labels(job.kind, outcome, provider).inc()
        finished = job.finished_at
        if finished is not None:
            metrics.job_duration.labels(job.kind, outcome).observe(
                max(0.0, finished - job.created_at)
            )
        if not delivered:
            metrics.jobs_untold.labels(job.kind).inc()
        elif isinstance(event, JobCompleted):
            metrics.images_delivered.labels(job.kind, provider).inc(len(event.images))


class EngineCollector(Collector):
    """What the engine holds at scrape time: jobs by state, the queue, the status-query budget."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        engine = self._engine
        in_progress = GaugeMetricFamily(
            "easel_jobs_in_progress",
            "Jobs this process is working on, by kind and state.",
            labels=["kind", "state"],
        )
        for (kind, state), count in sorted(
            Tally((job.kind, job.state.value) for job in engine.live_jobs()).items()
        ):
            in_progress.add_metric([kind, state], count)
        yield in_progress
        scheduler = engine.watcher.scheduler
        yield CounterMetricFamily(
            "easel_upstream_status_queries",
            "Task status queries sent to the image API (they count against its query budget).",
            value=scheduler.queries,
        )
        yield from gauges(
            ("easel_queue_waiting", "Jobs waiting for a run slot.", engine.queue.waiting),
            ("easel_queue_running", "Jobs holding a run slot.", engine.queue.running),
            (
                "easel_upstream_status_queries_last_minute",
                "Status queries sent in the last 60 seconds.",
                scheduler.queries_last_minute(),
            ),
            (
                "easel_upstream_status_query_budget_per_minute",
                "Status queries Easel allows itself per minute (UPSTREAM_QUERIES_PER_MINUTE).",
                scheduler.policy.queries_per_minute,
            ),
            (
                "easel_upstream_status_query_pause_seconds",
                "Seconds until polling resumes after the image API answered 429 (0: not paused).",
                scheduler.paused_for(),
            ),
            ("easel_upstream_tasks_watched", "Upstream tasks being polled.", scheduler.watching),
        )
