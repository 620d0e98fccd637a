"""Turning what a run saw into figures: jobs, upstream use, Discord use, process use, targets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.models import (
    BenchConfig,
    DiscordUse,
    Distribution,
    JobCounts,
    JobSample,
    ProcessUse,
    TargetCheck,
    UpstreamUse,
)
from bench.stats import (
    distribution,
    max_window,
    parse_bot_log,
    per_second_series,
    sandbox_task_starts,
)
from bot.ops.loop_lag import MetricsReport
from bot.sandbox.server import SandboxStats
from local_discord import InteractionHandle, MessageVersion, RequestRecord, StoredMessage

UPSTREAM_KINDS = ("upload", "submit", "poll", "download")
API_KINDS = ("upload", "submit", "poll")  # what a ToAPIs account's query budget covers


@dataclass
class JobOutcome:
    """One member's job as Discord saw it."""

    handle: InteractionHandle | None
    sent_at: float | None = None  # local Discord clock, once the event was written
    final: StoredMessage | None = None
    final_version: MessageVersion | None = None


def is_final(message: StoredMessage) -> bool:
    """The job's message shows its outcome (progress embeds' titles start with 🎨)."""
    return bool(message.embeds) and not str(message.embeds[0].get("title", "")).startswith("🎨")


def first_final_version(message: StoredMessage) -> MessageVersion | None:
    """The version in which the outcome first appeared (when Discord received it)."""
    for version in message.versions:
        embeds = version.payload.get("embeds") or []
        if embeds and not str(embeds[0].get("title", "")).startswith("🎨"):
            return version
    return None


@dataclass
class JobFigures:
    """Per-job results and the distributions built from them."""

    counts: JobCounts
    samples: list[JobSample]
    ack: Distribution
    dispatch: Distribution
    overhead: Distribution
    end_to_end: Distribution


def job_figures(
    config: BenchConfig,
    outcomes: list[JobOutcome],
    size: tuple[int, int],
    bot_log: str,
    sandbox_log: str,
) -> JobFigures:
    """How each job ended, its ack latency, and its delivery overhead (task end → final)."""
    bots = parse_bot_log(bot_log)
    task_starts = sandbox_task_starts(sandbox_log)
    overheads: list[float] = []
    end_to_end: list[float] = []
    acks: list[float] = []
    dispatches: list[float] = []
    counts = Counter[str]()
    samples: list[JobSample] = []
    first_dispatch = min(
        (o.handle.dispatched_at for o in outcomes if o.handle and o.handle.dispatched_at),
        default=None,
    )
    for index, outcome in enumerate(outcomes):
        sample = JobSample(index=index, outcome="not dispatched")
        samples.append(sample)
        handle = outcome.handle
        if handle is None:
            counts["not_dispatched"] += 1
            continue
        if outcome.sent_at is not None and handle.dispatched_at is not None:
            sample.dispatch_ms = round((outcome.sent_at - handle.dispatched_at) * 1000, 2)
            dispatches.append(sample.dispatch_ms)
        if first_dispatch is not None and handle.dispatched_at is not None:
            sample.dispatched_after_ms = round((handle.dispatched_at - first_dispatch) * 1000, 2)
        if handle.ack_latency is not None:
            sample.ack_ms = round(handle.ack_latency * 1000, 2)
            acks.append(sample.ack_ms)
            counts["acknowledged"] += 1
            sample.outcome = "acknowledged"
        else:
            counts["missed_ack"] += 1
        if config.floor:
            continue  # the floor only defers: there is nothing to deliver
        final, version = outcome.final, outcome.final_version
        if final is None or version is None:
            sample.outcome = "timed out"
            counts["timed_out"] += 1
            continue
        sample.end_to_end_s = round(version.at - (handle.dispatched_at or version.at), 3)
        end_to_end.append(sample.end_to_end_s)
        if not str(final.embeds[0].get("title", "")).startswith("✅"):
            sample.outcome = "failed"
            counts["failed"] += 1
            continue
        sizes = [(a.width, a.height) for a in final.attachments]
        if sizes != [size] * config.images_per_job:
            sample.outcome = "wrong images"
            counts["wrong_images"] += 1
            continue
        sample.outcome = "delivered"
        counts["delivered"] += 1
        job = bots.job_of_user.get(handle.user.id)
        start = task_starts.get(bots.task_of_job.get(job or "") or "")
        if start is None:
            counts["unmapped"] += 1
            continue
        task_end = start + config.upstream_duration
        sample.overhead_s = round(version.timestamp.timestamp() - task_end, 3)
        overheads.append(sample.overhead_s)
    return JobFigures(
        counts=JobCounts(
            fired=config.jobs,
            acknowledged=counts["acknowledged"],
            missed_ack_deadline=counts["missed_ack"] + counts["not_dispatched"],
            delivered=counts["delivered"],
            failed=counts["failed"],
            timed_out=counts["timed_out"],
            wrong_images=counts["wrong_images"],
            overhead_unmapped=counts["unmapped"],
        ),
        samples=samples,
        ack=distribution(acks, 1),
        dispatch=distribution(dispatches, 2),
        overhead=distribution(overheads, 3),
        end_to_end=distribution(end_to_end, 3),
    )


def upstream_use(
    config: BenchConfig, before: SandboxStats | None, after: SandboxStats | None
) -> UpstreamUse:
    """What the sandbox counted during the run (all zero for the floor, which has none)."""
    before_counts = before.counts if before is not None else {}
    after_counts = after.counts if after is not None else {}
    totals = {
        kind: after_counts.get(kind, 0) - before_counts.get(kind, 0) for kind in UPSTREAM_KINDS
    }
    per_second = after.per_second if after is not None else {}
    polls = per_second_series(per_second, ["poll"])
    api = per_second_series(per_second, API_KINDS)
    return UpstreamUse(
        totals=totals,
        per_job={kind: round(count / config.jobs, 2) for kind, count in totals.items()},
        status_queries_max_60s=max_window(polls, 60),
        status_queries_mean_per_min=round(sum(polls) * 60 / len(polls), 1) if polls else 0.0,
        status_queries_peak_per_s=max(polls, default=0),
        api_calls_max_60s=max_window(api, 60),
        api_calls_peak_per_s=max(api, default=0),
        budget_per_min=config.query_budget,
        seconds_observed=len(polls),
    )


def discord_use(config: BenchConfig, requests: list[RequestRecord]) -> DiscordUse:
    """Requests the local Discord answered for the bots during the run."""
    by_route = Counter(f"{r.method} {r.route}" for r in requests)
    errors = Counter(f"{r.status}/{r.error_code}" for r in requests if not r.ok and r.status != 429)
    return DiscordUse(
        total=len(requests),
        per_job=round(len(requests) / config.jobs, 2),
        by_route=dict(by_route.most_common()),
        rate_limited_429=sum(1 for r in requests if r.status == 429),
        errors=dict(errors),
    )


def read_metrics(path: Path, name: str, notes: list[str]) -> MetricsReport | None:
    """A process's METRICS_FILE (a note says why when it is missing or not final)."""
    try:
        report = MetricsReport.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"no metrics from {name}: {exc}")
        return None
    if not report.final:
        notes.append(f"{name}'s metrics file is not final (it did not shut down cleanly)")
    return report


def process_use(name: str, cpu: float | None, metrics: MetricsReport | None) -> ProcessUse:
    """One bot process's figures."""
    return ProcessUse(
        name=name,
        cpu_seconds=cpu,
        peak_rss_mb=metrics.peak_rss_mb if metrics else None,
        loop_lag_ms=metrics.lag_ms if metrics else None,
        loop_lag_samples=metrics.samples if metrics else None,
    )


def targets(
    config: BenchConfig,
    jobs: JobCounts,
    ack_p99: float | None,
    discord_429: int,
    bots: list[ProcessUse],
    upstream: UpstreamUse,
    overhead_p50: float | None,
) -> list[TargetCheck]:
    """The issues' targets, judged on this run (each says at which load it is set)."""
    lags = [bot.loop_lag_ms.p99 for bot in bots if bot.loop_lag_ms is not None]
    lag_p99 = max(lags) if lags and len(lags) == len(bots) else None

    def below(value: float | None, limit: float) -> bool | None:
        return None if value is None else value < limit

    checks = [
        TargetCheck(
            name="ack latency p99",
            target="< 100 ms",
            value=ack_p99,
            met=below(ack_p99, 100),
            applies_at="200 jobs" + (", 2 shard processes" if config.shards > 1 else ""),
        ),
        TargetCheck(
            name="bot event-loop lag p99 (worst process)",
            target="< 50 ms",
            value=lag_p99,
            met=below(lag_p99, 50),
            applies_at="200 jobs",
        ),
    ]
    if config.floor:
        return checks
    return [
        TargetCheck(
            name="every job delivered",
            target=f"{config.jobs}/{config.jobs}",
            value=jobs.delivered,
            met=jobs.delivered == config.jobs,
            applies_at="every run",
        ),
        *checks,
        TargetCheck(
            name="429s from Discord",
            target="0",
            value=discord_429,
            met=discord_429 == 0,
            applies_at="200 jobs",
        ),
        TargetCheck(
            name="status queries, max in any 60 s",
            target=f"≤ {config.query_budget}",
            value=upstream.status_queries_max_60s,
            met=upstream.status_queries_max_60s <= config.query_budget,
            applies_at="200 jobs",
        ),
        TargetCheck(
            name="delivery overhead p50",
            target="< 1.5 s",
            value=overhead_p50,
            met=below(overhead_p50, 1.5),
            applies_at="50 jobs",
        ),
    ]
