"""One benchmark run: sandbox and bot as child processes, the local Discord in this process.

N members each run ``/imagine`` once (all at once, or spread over ``--ramp`` seconds); the run
ends when every job's message shows its outcome or the overall timeout passes. Then the bot is
stopped with SIGTERM (its METRICS_FILE is final) and the logs and counters are turned into a
``BenchResult``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import os
import platform
import resource
import shutil
import statistics
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from PIL import Image

from bench.models import (
    AckBurst,
    BenchConfig,
    BenchResult,
    DiscordUse,
    JobCounts,
    JobSample,
    Machine,
    ProcessUse,
    TargetCheck,
    UpstreamUse,
)
from bench.procs import (
    Child,
    ProcessFailed,
    first_of,
    pin_to,
    split_cpus,
    start_bot,
    start_sandbox,
)
from bench.stats import (
    distribution,
    max_window,
    parse_bot_log,
    per_second_series,
    sandbox_task_starts,
)
from bot.ops.loop_lag import LagSummary, LoopLagMonitor, MetricsReport, peak_rss_mb
from bot.options import Ratio, Resolution
from bot.providers.catalog import SIZE_TABLES
from bot.sandbox.placeholder import render_placeholder
from bot.sandbox.server import SandboxStats
from local_discord import (
    Channel,
    InteractionHandle,
    LocalDiscord,
    MessageVersion,
    StoredMessage,
    User,
)

CONNECT_TIMEOUT = 30.0
UPSTREAM_KINDS = ("upload", "submit", "poll", "download")
API_KINDS = ("upload", "submit", "poll")  # what a ToAPIs account's query budget covers


@dataclass
class JobOutcome:
    """One member's job as Discord saw it."""

    handle: InteractionHandle | None
    sent_at: float | None = None  # local Discord clock, once the event was written
    final: StoredMessage | None = None
    final_version: MessageVersion | None = None


def expected_size(config: BenchConfig) -> tuple[int, int]:
    """The pixel size the seed table gives the configured ratio and tier (fails fast if none)."""
    table = SIZE_TABLES["seed"]
    size = table.get(Resolution(config.resolution), {}).get(Ratio(config.ratio))
    if size is None:
        raise SystemExit(f"{config.ratio} is not offered at {config.resolution}")
    return size


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


async def measure_render_ms(size: tuple[int, int]) -> float:
    """How long the sandbox takes to draw one placeholder of this size.

    It draws on the first poll after a task ends, so this much of each measured delivery
    overhead is the emulator's work, not Easel's.
    """
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        await asyncio.to_thread(render_placeholder, *size, "benchmark", index=1, count=1)
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


async def sandbox_stats(http: aiohttp.ClientSession, base_url: str) -> SandboxStats:
    """``GET /_sandbox/stats``, validated."""
    async with http.get(f"{base_url}/_sandbox/stats") as reply:
        reply.raise_for_status()
        return SandboxStats.model_validate_json(await reply.read())


def reference_png() -> bytes:
    """A 512×512 PNG a member attaches as a reference image."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((512, 512)).save(buffer, "PNG")
    return buffer.getvalue()


async def add_members(ld: LocalDiscord, config: BenchConfig) -> list[tuple[User, Channel]]:
    """N members spread over ``guilds`` servers (the default one plus new ones), each with the
    #general channel they use, interleaved so consecutive jobs come from different servers."""
    places = [ld.general]
    for number in range(2, config.guilds + 1):
        guild = await ld.create_guild(f"Bench Server {number}")
        places.append(next(c for c in guild.channels.values() if c.name == "general"))
    per_place: list[list[tuple[User, Channel]]] = []
    for index, channel in enumerate(places):
        count = config.jobs // config.guilds + (index < config.jobs % config.guilds)
        users = await ld.add_users(count, prefix=f"bench{index}_", guild=channel.guild_id)
        per_place.append([(user, channel) for user in users])
    return [
        member for row in itertools.zip_longest(*per_place) for member in row if member is not None
    ]


async def fire(
    ld: LocalDiscord, members: list[tuple[User, Channel]], config: BenchConfig
) -> list[JobOutcome]:
    """Each member runs /imagine once, all at once or spread over ``ramp`` seconds."""
    reference = await asyncio.to_thread(reference_png) if config.references else b""
    uploads = [(f"ref{i + 1}.png", reference, "image/png") for i in range(config.references)]

    async def one(index: int) -> JobOutcome:
        if config.ramp:
            await asyncio.sleep(config.ramp * index / config.jobs)
        try:
            user, channel = members[index]
            handle = await ld.send_slash_command(
                user,
                channel,
                "imagine",
                {
                    "prompt": f"benchmark job {index}: a lighthouse at dusk, oil on canvas",
                    "ratio": config.ratio,
                    "resolution": config.resolution,
                    "n": config.images_per_job,
                },
                attachments=uploads,
            )
        except (LookupError, ValueError, RuntimeError):
            return JobOutcome(handle=None)
        return JobOutcome(handle=handle, sent_at=ld.clock.now())

    return list(await asyncio.gather(*(one(i) for i in range(config.jobs))))


async def warm_up(ld: LocalDiscord, bot: Child) -> float | None:
    """Bring the bot to a steady state before measuring: wait for its on_ready (logged as
    "ready as …", at most 10 s) and run one /imagine that fails validation, so the command path
    has run once (first-use imports and caches) without spending anything upstream.

    Returns that warm-up's acknowledgement latency in ms (a cold bot's, for the record).
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "ready as" in await asyncio.to_thread(bot.stderr):
            break
        await asyncio.sleep(0.1)
    handle = await ld.send_slash_command(
        "alice", None, "imagine", {"prompt": "warm-up", "ratio": "1:1", "resolution": "4K"}
    )
    with contextlib.suppress(TimeoutError):
        await handle.wait_for_callback(timeout=5)
    return None if handle.ack_latency is None else round(handle.ack_latency * 1000, 1)


async def wait_for_acks(outcomes: list[JobOutcome], timeout: float) -> None:  # noqa: ASYNC109
    """Wait until every dispatched job was acknowledged (or could no longer be)."""

    async def one(handle: InteractionHandle) -> None:
        with contextlib.suppress(TimeoutError):
            await handle.wait_for_callback(timeout=timeout)

    await asyncio.gather(*(one(o.handle) for o in outcomes if o.handle is not None))


async def wait_for_finals(outcomes: list[JobOutcome], deadline: float) -> None:
    """Wait for each job's outcome message until the deadline (monotonic)."""

    async def one(outcome: JobOutcome) -> None:
        if outcome.handle is None:
            return
        remaining = max(0.1, deadline - time.monotonic())
        with contextlib.suppress(TimeoutError):
            outcome.final = await outcome.handle.wait_for_original(is_final, timeout=remaining)
            outcome.final_version = first_final_version(outcome.final)

    await asyncio.gather(*(one(outcome) for outcome in outcomes))


async def git(source: Path, *args: str) -> str:
    """Output of a git command in ``source`` ("" if it failed)."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(source),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    return out.decode().strip() if proc.returncode == 0 else ""


async def git_describe(source: Path, at: str | None) -> str:
    """``<short sha>``, noting uncommitted changes when the working tree itself runs."""
    sha = await git(source, "rev-parse", "--short", f"{at or 'HEAD'}^{{commit}}")
    if not sha:
        return "not a git checkout"
    if at is not None:
        return f"{sha} (git archive)"
    dirty = await git(source, "status", "--porcelain", "--untracked-files=no")
    return f"{sha} + uncommitted changes in the working tree" if dirty else sha


async def export_commit(source: Path, rev: str, target: Path) -> Path:
    """``git archive rev`` unpacked into ``target``: the exact tree of that commit."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(source),
        "archive",
        "--format=tar",
        rev,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    tar, err = await proc.communicate()
    if proc.returncode != 0:
        raise ProcessFailed(f"could not export {rev} from {source}: {err.decode().strip()}")
    await asyncio.to_thread(_untar, tar, target)
    return target


def _untar(data: bytes, target: Path) -> None:
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse links and absolute paths
            archive.extractall(target, filter="data")
        else:  # pragma: no cover - older 3.11; the archive is our own repository's
            archive.extractall(target)  # noqa: S202


def cpu_model() -> str:
    """The CPU's model name (Linux), for the record."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def run(config: BenchConfig) -> BenchResult:
    """Run the benchmark once and measure it."""
    size = expected_size(config)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()[0]
    render_ms = await measure_render_ms(size)
    workdir = Path(tempfile.mkdtemp(prefix="easel-bench-"))
    try:
        result = await _run(config, size, render_ms, workdir, started_at)
        # Other work on the machine skews every figure; keep the evidence with the result.
        result.notes.append(
            f"1-min load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
            f"({os.cpu_count()} CPUs; the run itself adds about 1-2)"
        )
        return result
    finally:
        if config.keep_logs is not None:
            config.keep_logs.mkdir(parents=True, exist_ok=True)
            for name in ("bot.stderr", "sandbox.stderr", "metrics.json"):
                with contextlib.suppress(OSError):
                    shutil.copy(workdir / name, config.keep_logs / name)
        shutil.rmtree(workdir, ignore_errors=True)


async def _run(
    config: BenchConfig,
    size: tuple[int, int],
    render_ms: float,
    workdir: Path,
    started_at: str,
) -> BenchResult:
    source = config.source
    if config.at is not None:
        source = await export_commit(config.source, config.at, workdir / "src")
    sandbox, sandbox_url = await start_sandbox(source, workdir, config.upstream_duration)
    bot_cpus, other_cpus = split_cpus()
    if config.pin:
        pin_to(0, other_cpus)  # this driver (the local Discord)
        pin_to(sandbox.proc.pid, other_cpus)
    driver_lag = LoopLagMonitor(workdir / "driver-metrics.json")
    bot: Child | None = None
    try:
        async with LocalDiscord() as ld, aiohttp.ClientSession() as http, driver_lag:
            # Sizes are read from headers; keep bytes only when the bot must download references.
            ld.keep_attachment_data = config.references > 0
            env = {
                "DISCORD_TOKEN": ld.bot_token,
                "DISCORD_API_BASE": ld.api_base,
                "DISCORD_GATEWAY_URL": ld.gateway_url,
                "IMAGE_PROVIDER": "toapis",
                "IMAGE_API_BASE_URL": sandbox_url,
                "IMAGE_API_KEY": "benchmark",
                "DATABASE_URL": f"sqlite:///{workdir}/easel.sqlite3",
                "METRICS_FILE": str(workdir / "metrics.json"),
                "HTTP_PORT": "0",  # no health server: 8080 may be taken; METRICS_FILE is read
                "LOG_LEVEL": "INFO",  # job → task lines are INFO
                "SYNC_COMMANDS": "true",
                **config.bot_env,
            }
            bot = await start_bot(source, workdir, env)
            if config.pin:
                pin_to(bot.proc.pid, bot_cpus)
            ready = asyncio.ensure_future(
                ld.wait_for(lambda s: s.connected and bool(s.synced_commands), CONNECT_TIMEOUT)
            )
            await first_of(ready, bot, CONNECT_TIMEOUT + 1)

            cold_ack_ms = await warm_up(ld, bot)
            members = await add_members(ld, config)
            before = await sandbox_stats(http, sandbox_url)
            first_request = len(ld.requests)
            cpu_before = (bot.cpu_seconds(), _own_cpu_seconds(), sandbox.cpu_seconds())
            began = time.monotonic()
            outcomes = await fire(ld, members, config)
            await wait_for_acks(outcomes, ld.ack_deadline + 1)
            burst = AckBurst(
                wall_ms=round((time.monotonic() - began) * 1000, 1),
                bot_cpu_ms=_cpu_ms(cpu_before[0], bot.cpu_seconds()),
                driver_cpu_ms=_cpu_ms(cpu_before[1], _own_cpu_seconds()) or 0.0,
                sandbox_cpu_ms=_cpu_ms(cpu_before[2], sandbox.cpu_seconds()),
            )
            await wait_for_finals(outcomes, began + config.overall_timeout())
            wall = time.monotonic() - began
            after = await sandbox_stats(http, sandbox_url)
            bot_cpu, sandbox_cpu = bot.cpu_seconds(), sandbox.cpu_seconds()
            bot_exit = await bot.stop()
            requests = ld.requests[first_request:]
            rate_limit_hits = ld.rate_limit_hits
        driver_report = driver_lag.report(final=True)
    finally:
        if bot is not None:
            await bot.stop()
        sandbox_exit = await sandbox.stop()

    assert bot is not None
    notes = [
        *config.notes,
        f"bot exit code {bot_exit}, sandbox exit code {sandbox_exit}",
        f"warm-up (one refused /imagine on the idle bot, not counted): ack {cold_ack_ms} ms",
    ]
    if config.bot_env:
        notes.append(f"NON-DEFAULT bot settings: {config.bot_env}")
    bot_metrics = _read_metrics(workdir / "metrics.json", notes)

    # ------------------------------------------------------------------ jobs
    bot_log = parse_bot_log(bot.stderr())
    task_starts = sandbox_task_starts(sandbox.stderr())
    overheads: list[float] = []
    end_to_end: list[float] = []
    acks: list[float] = []
    dispatches: list[float] = []
    counts = Counter[str]()
    samples: list[JobSample] = []
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
        if handle.ack_latency is not None:
            sample.ack_ms = round(handle.ack_latency * 1000, 2)
            acks.append(sample.ack_ms)
            counts["acknowledged"] += 1
        else:
            counts["missed_ack"] += 1
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
        job = bot_log.job_of_user.get(handle.user.id)
        task = bot_log.task_of_job.get(job or "")
        start = task_starts.get(task or "")
        if start is None:
            counts["unmapped"] += 1
            continue
        task_end = start + config.upstream_duration
        sample.overhead_s = round(version.timestamp.timestamp() - task_end, 3)
        overheads.append(sample.overhead_s)

    # ------------------------------------------------------------------ upstream
    totals = {
        kind: after.counts.get(kind, 0) - before.counts.get(kind, 0) for kind in UPSTREAM_KINDS
    }
    polls = per_second_series(after.per_second, ["poll"])
    api = per_second_series(after.per_second, API_KINDS)
    upstream = UpstreamUse(
        totals=totals,
        per_job={kind: round(count / config.jobs, 2) for kind, count in totals.items()},
        status_queries_max_60s=max_window(polls, 60),
        status_queries_peak_per_s=max(polls, default=0),
        api_calls_max_60s=max_window(api, 60),
        api_calls_peak_per_s=max(api, default=0),
        budget_per_min=config.query_budget,
        seconds_observed=len(polls),
    )

    # ------------------------------------------------------------------ Discord
    by_route = Counter(f"{r.method} {r.route}" for r in requests)
    errors = Counter(f"{r.status}/{r.error_code}" for r in requests if not r.ok and r.status != 429)
    discord = DiscordUse(
        total=len(requests),
        per_job=round(len(requests) / config.jobs, 2),
        by_route=dict(by_route.most_common()),
        rate_limited_429=sum(1 for r in requests if r.status == 429),
        errors=dict(errors),
    )
    if rate_limit_hits != discord.rate_limited_429:
        notes.append(f"the local Discord answered {rate_limit_hits} 429s in total")

    ack = distribution(acks, 1)
    overhead = distribution(overheads, 3)
    lag = bot_metrics.lag_ms if bot_metrics else None
    jobs = JobCounts(
        fired=config.jobs,
        acknowledged=counts["acknowledged"],
        missed_ack_deadline=counts["missed_ack"] + counts["not_dispatched"],
        delivered=counts["delivered"],
        failed=counts["failed"],
        timed_out=counts["timed_out"],
        wrong_images=counts["wrong_images"],
        overhead_unmapped=counts["unmapped"],
    )
    return BenchResult(
        started_at=started_at,
        wall_seconds=round(wall, 1),
        config=config,
        machine=Machine(
            cpus=os.cpu_count() or 0,
            cpu_model=cpu_model(),
            python=platform.python_version(),
            platform=platform.platform(),
            source=str(config.source),
            commit=await git_describe(config.source, config.at),
        ),
        jobs=jobs,
        ack_latency_ms=ack,
        dispatch_ms=distribution(dispatches, 2),
        ack_burst=burst if config.ramp == 0 else None,
        delivery_overhead_s=overhead,
        end_to_end_s=distribution(end_to_end, 3),
        sandbox_render_ms_per_image=render_ms,
        upstream=upstream,
        discord=discord,
        bot=ProcessUse(
            cpu_seconds=bot_cpu,
            peak_rss_mb=bot_metrics.peak_rss_mb if bot_metrics else None,
            loop_lag_ms=lag,
            loop_lag_samples=bot_metrics.samples if bot_metrics else None,
        ),
        sandbox=ProcessUse(cpu_seconds=sandbox_cpu),
        driver=ProcessUse(
            cpu_seconds=round(_own_cpu_seconds(), 2),
            peak_rss_mb=round(peak_rss_mb(), 1),
            loop_lag_ms=driver_report.lag_ms,
            loop_lag_samples=driver_report.samples,
        ),
        targets=_targets(
            config, jobs, ack.p99, discord.rate_limited_429, lag, upstream, overhead.p50
        ),
        notes=notes,
        samples=samples,
    )


def _read_metrics(path: Path, notes: list[str]) -> MetricsReport | None:
    try:
        report = MetricsReport.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"no bot metrics: {exc}")
        return None
    if not report.final:
        notes.append("the bot's metrics file is not final (it did not shut down cleanly)")
    return report


def _cpu_ms(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) * 1000, 1)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _targets(
    config: BenchConfig,
    jobs: JobCounts,
    ack_p99: float | None,
    discord_429: int,
    lag: LagSummary | None,
    upstream: UpstreamUse,
    overhead_p50: float | None,
) -> list[TargetCheck]:
    """The issue's targets, judged on this run (each says at which load the issue sets it)."""
    lag_p99 = lag.p99 if lag is not None else None

    def below(value: float | None, limit: float) -> bool | None:
        return None if value is None else value < limit

    return [
        TargetCheck(
            name="every job delivered",
            target=f"{config.jobs}/{config.jobs}",
            value=jobs.delivered,
            met=jobs.delivered == config.jobs,
            applies_at="every run",
        ),
        TargetCheck(
            name="ack latency p99",
            target="< 100 ms",
            value=ack_p99,
            met=below(ack_p99, 100),
            applies_at="200 jobs",
        ),
        TargetCheck(
            name="429s from Discord",
            target="0",
            value=discord_429,
            met=discord_429 == 0,
            applies_at="200 jobs",
        ),
        TargetCheck(
            name="bot event-loop lag p99",
            target="< 50 ms",
            value=lag_p99,
            met=below(lag_p99, 50),
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
