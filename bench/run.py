"""One benchmark run: sandbox and bot processes as children, the local Discord in this process.

N members each run ``/imagine`` once (all at once, or spread over ``--ramp`` seconds); the run
ends when every job's message shows its outcome or the overall timeout passes. Then the bots are
stopped with SIGTERM (their METRICS_FILEs are final) and the logs and counters are turned into a
``BenchResult``. ``--shards N`` runs N Easel processes (one gateway shard each, one PostgreSQL);
``--floor`` runs a bare discord.py bot that only defers instead of Easel (no sandbox, no jobs).
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
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from PIL import Image

from bench.database import bench_database
from bench.fleet import Fleet, bench_servers, start_fleet, warm_up
from bench.measure import (
    JobOutcome,
    discord_use,
    first_final_version,
    is_final,
    job_figures,
    process_use,
    read_metrics,
    targets,
    upstream_use,
)
from bench.models import AckBurst, BenchConfig, BenchResult, Machine, ProcessUse
from bench.procs import Child, pin_to, split_cpus, start_sandbox
from bench.source import cpu_model, export_commit, git_describe
from bot.ops.loop_lag import LoopLagMonitor, peak_rss_mb
from bot.options import Ratio, Resolution
from bot.providers.catalog import SIZE_TABLES
from bot.sandbox.placeholder import render_placeholder
from bot.sandbox.server import SandboxStats
from local_discord import Channel, InteractionHandle, LocalDiscord, User


def expected_size(config: BenchConfig) -> tuple[int, int]:
    """The pixel size the seed table gives the configured ratio and tier (fails fast if none)."""
    table = SIZE_TABLES["seed"]
    size = table.get(Resolution(config.resolution), {}).get(Ratio(config.ratio))
    if size is None:
        raise SystemExit(f"{config.ratio} is not offered at {config.resolution}")
    return size


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


async def sandbox_stats(http: aiohttp.ClientSession, base_url: str | None) -> SandboxStats | None:
    """``GET /_sandbox/stats``, validated (None without a sandbox)."""
    if base_url is None:
        return None
    async with http.get(f"{base_url}/_sandbox/stats") as reply:
        reply.raise_for_status()
        return SandboxStats.model_validate_json(await reply.read())


def reference_png() -> bytes:
    """A 512×512 PNG a member attaches as a reference image."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((512, 512)).save(buffer, "PNG")
    return buffer.getvalue()


async def add_members(
    ld: LocalDiscord, config: BenchConfig, places: list[Channel]
) -> list[tuple[User, Channel]]:
    """N members spread over the servers, each with the #general channel they use, interleaved
    so consecutive jobs come from different servers (and shards)."""
    per_place: list[list[tuple[User, Channel]]] = []
    for index, channel in enumerate(places):
        count = config.jobs // len(places) + (index < config.jobs % len(places))
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
            # A job acknowledged privately (images, or a burst: ``cogs.burst``) shows its
            # outcome in a public follow-up; the others in the original response.
            outcome.final = await outcome.handle.wait_for_public_message(
                is_final, timeout=remaining
            )
            outcome.final_version = first_final_version(outcome.final)

    await asyncio.gather(*(one(outcome) for outcome in outcomes))


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
            await asyncio.to_thread(_copy_logs, workdir, config.keep_logs)
        shutil.rmtree(workdir, ignore_errors=True)


def _copy_logs(workdir: Path, target: Path) -> None:
    """Every process's stderr and metrics file, for ``--keep-logs``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in workdir.iterdir():
        if path.suffix in {".stderr", ".json"}:
            with contextlib.suppress(OSError):
                shutil.copy(path, target / path.name)


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
    sandbox: Child | None = None
    sandbox_url: str | None = None
    if not config.floor:
        sandbox, sandbox_url = await start_sandbox(source, workdir, config.upstream_duration)
    _, other_cpus = split_cpus(config.shards)
    if config.pin:
        pin_to(0, other_cpus)  # this driver (the local Discord)
        if sandbox is not None:
            pin_to(sandbox.proc.pid, other_cpus)
    driver_lag = LoopLagMonitor(workdir / "driver-metrics.json")
    fleet = Fleet()
    outcomes: list[JobOutcome] = []
    try:
        async with (
            bench_database(config, workdir) as database_url,
            LocalDiscord(shards=config.shards) as ld,
            aiohttp.ClientSession() as http,
            driver_lag,
        ):
            # Sizes are read from headers; keep bytes only when the bot must download references.
            ld.keep_attachment_data = config.references > 0
            await start_fleet(
                fleet,
                config,
                source,
                workdir,
                ld,
                sandbox_url=sandbox_url,
                database_url=database_url,
            )
            places = await bench_servers(ld, config)
            cold_acks = await warm_up(ld, fleet, places)
            members = await add_members(ld, config, places)
            before = await sandbox_stats(http, sandbox_url)
            first_request = len(ld.requests)
            cpu_before = (
                fleet.cpu_seconds(),
                _own_cpu_seconds(),
                sandbox.cpu_seconds() if sandbox else None,
            )
            began = time.monotonic()
            outcomes = await fire(ld, members, config)
            await wait_for_acks(outcomes, ld.ack_deadline + 1)
            burst = AckBurst(
                wall_ms=round((time.monotonic() - began) * 1000, 1),
                bot_cpu_ms=_cpu_ms(cpu_before[0], fleet.cpu_seconds()),
                driver_cpu_ms=_cpu_ms(cpu_before[1], _own_cpu_seconds()) or 0.0,
                sandbox_cpu_ms=_cpu_ms(cpu_before[2], sandbox.cpu_seconds() if sandbox else None),
            )
            if not config.floor:
                await wait_for_finals(outcomes, began + config.overall_timeout())
            wall = time.monotonic() - began
            after = await sandbox_stats(http, sandbox_url)
            bot_cpus = [child.cpu_seconds() for child in fleet.children]
            sandbox_cpu = sandbox.cpu_seconds() if sandbox else None
            bot_exits = await fleet.stop()
            requests = ld.requests[first_request:]
            rate_limit_hits = ld.rate_limit_hits
        driver_report = driver_lag.report(final=True)
    finally:
        await fleet.stop()
        sandbox_exit = await sandbox.stop() if sandbox is not None else None

    what = "floor" if config.floor else "bot"
    notes = [
        *config.notes,
        f"{what} exit codes {bot_exits}, sandbox exit code {sandbox_exit}",
        f"warm-up (one refused /imagine per idle process, not counted): ack {cold_acks} ms",
    ]
    if config.bot_env:
        notes.append(f"NON-DEFAULT bot settings: {config.bot_env}")
    loop = type(asyncio.get_running_loop())
    notes.append(f"driver (local Discord) event loop: {loop.__module__}.{loop.__qualname__}")
    if config.store == "postgres":
        notes.append("state in PostgreSQL (its server processes share the CPUs, not measured)")
    bots: list[ProcessUse] = [
        process_use(child.name, cpu, read_metrics(path, child.name, notes))
        for child, cpu, path in zip(fleet.children, bot_cpus, fleet.metrics, strict=True)
    ]
    jobs = job_figures(config, outcomes, size, fleet.stderr(), sandbox.stderr() if sandbox else "")
    upstream = upstream_use(config, before, after)
    discord = discord_use(config, requests)
    if rate_limit_hits != discord.rate_limited_429:
        notes.append(f"the local Discord answered {rate_limit_hits} 429s in total")
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
        jobs=jobs.counts,
        ack_latency_ms=jobs.ack,
        dispatch_ms=jobs.dispatch,
        ack_burst=burst if config.ramp == 0 else None,
        delivery_overhead_s=jobs.overhead,
        end_to_end_s=jobs.end_to_end,
        sandbox_render_ms_per_image=render_ms,
        upstream=upstream,
        discord=discord,
        bots=bots,
        sandbox=ProcessUse(name="sandbox", cpu_seconds=sandbox_cpu),
        driver=ProcessUse(
            name="driver",
            cpu_seconds=round(_own_cpu_seconds(), 2),
            peak_rss_mb=round(peak_rss_mb(), 1),
            loop_lag_ms=driver_report.lag_ms,
            loop_lag_samples=driver_report.samples,
        ),
        targets=targets(
            config,
            jobs.counts,
            jobs.ack.p99,
            discord.rate_limited_429,
            bots,
            upstream,
            jobs.overhead.p50,
        ),
        notes=notes,
        samples=jobs.samples,
    )


def _cpu_ms(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) * 1000, 1)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
