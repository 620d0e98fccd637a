"""The benchmark result as a plain-text table (stdout) and as JSON (``--json``)."""

from __future__ import annotations

from bench.models import BenchResult, Distribution


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _row(cells: list[str], widths: list[int]) -> str:
    first, *rest = cells
    return "  ".join(
        [first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
    )


def _dist_row(name: str, dist: Distribution, digits: int) -> list[str]:
    return [
        name,
        str(dist.n),
        _num(dist.p50, digits),
        _num(dist.p95, digits),
        _num(dist.p99, digits),
        _num(dist.max, digits),
    ]


def render(result: BenchResult) -> str:
    """Human-readable summary of one run."""
    config = result.config
    what = "floor (bare discord.py, defers only)" if config.floor else "Easel"
    lines = [
        f"{what} benchmark · {config.jobs} job(s) of {config.ratio} {config.resolution} "
        f"×{config.images_per_job}"
        + (f" + {config.references} reference(s)" if config.references else "")
        + (f" · {config.server_count} servers" if config.server_count > 1 else "")
        + (f" · {config.shards} shard processes" if config.shards > 1 else "")
        + (f" · state in {config.store}" if not config.floor else "")
        + (" · bots pinned, one CPU each" if config.pin else "")
        + f" · upstream {config.upstream_duration:g} s · "
        f"ramp {config.ramp:g} s · {result.wall_seconds:.1f} s wall",
        f"machine: {result.machine.cpus} CPUs ({result.machine.cpu_model}), "
        f"Python {result.machine.python}; source {result.machine.commit}",
    ]
    if config.bot_env:
        lines.append(f"!! NON-DEFAULT bot settings: {config.bot_env}")
    jobs = result.jobs
    lines += [
        "",
        f"jobs: {jobs.fired} fired · {jobs.acknowledged} acknowledged · "
        f"{jobs.delivered} delivered · {jobs.failed} failed · {jobs.timed_out} timed out · "
        f"{jobs.missed_ack_deadline} missed the 3 s ack · {jobs.wrong_images} wrong images",
        "",
    ]
    widths = [40, 5, 9, 9, 9, 9]
    lines.append(_row(["latency", "n", "p50", "p95", "p99", "max"], widths))
    lines.append(_row(["-" * 40, "-" * 5] + ["-" * 9] * 4, widths))
    lines.append(_row(_dist_row("ack (dispatch → defer), ms", result.ack_latency_ms, 1), widths))
    lines.append(_row(_dist_row("  of which writing the event, ms", result.dispatch_ms, 2), widths))
    lines.append(
        _row(
            _dist_row("delivery overhead (task end → final), s", result.delivery_overhead_s, 2),
            widths,
        )
    )
    lines.append(
        _row(_dist_row("end to end (dispatch → final), s", result.end_to_end_s, 2), widths)
    )
    for process in [*result.bots, result.driver]:
        lag = process.loop_lag_ms
        if lag is None:
            continue
        label = "driver (local Discord)" if process is result.driver else process.name
        lines.append(
            _row(
                [
                    f"{label} event-loop lag, ms",
                    str(process.loop_lag_samples or 0),
                    _num(lag.p50),
                    _num(lag.p95),
                    _num(lag.p99),
                    _num(lag.max),
                ],
                widths,
            )
        )
    burst = result.ack_burst
    if burst is not None:
        lines += [
            "",
            f"ack phase: last defer {burst.wall_ms:g} ms after the first dispatch; CPU used "
            f"meanwhile: bots {_num(burst.bot_cpu_ms, 0)} ms, driver "
            f"{_num(burst.driver_cpu_ms, 0)} ms, sandbox {_num(burst.sandbox_cpu_ms, 0)} ms",
        ]
    up = result.upstream
    lines += [
        "",
        "upstream requests per job: "
        + " · ".join(f"{kind} {value:g}" for kind, value in up.per_job.items()),
        f"status queries: max {up.status_queries_max_60s} in any 60 s "
        f"(budget {up.budget_per_min}/min), mean {up.status_queries_mean_per_min:g}/min, "
        f"peak {up.status_queries_peak_per_s}/s; "
        f"all API calls: max {up.api_calls_max_60s}/60 s, peak {up.api_calls_peak_per_s}/s",
        f"Discord requests: {result.discord.total} ({result.discord.per_job:g} per job), "
        f"429s: {result.discord.rate_limited_429}"
        + (f", errors: {result.discord.errors}" if result.discord.errors else ""),
        "  " + " · ".join(f"{route} {n}" for route, n in result.discord.by_route.items()),
        *(
            f"{bot.name}: peak RSS {_num(bot.peak_rss_mb)} MB, CPU {_num(bot.cpu_seconds)} s"
            for bot in result.bots
        ),
        f"sandbox CPU {_num(result.sandbox.cpu_seconds)} s "
        f"(draws a {result.sandbox_render_ms_per_image:g} ms placeholder per image) · "
        f"driver CPU {_num(result.driver.cpu_seconds)} s, RSS {_num(result.driver.peak_rss_mb)} MB",
        "",
    ]
    twidths = [34, 12, 10, 8, 10]
    lines.append(_row(["target", "goal", "value", "met", "set at"], twidths))
    lines.append(_row(["-" * 34, "-" * 12, "-" * 10, "-" * 8, "-" * 10], twidths))
    for target in result.targets:
        met = "—" if target.met is None else ("met" if target.met else "MISSED")
        value = target.value if isinstance(target.value, int) else _num(target.value, 2)
        lines.append(
            _row([target.name, target.target, str(value), met, target.applies_at], twidths)
        )
    if result.notes:
        lines += ["", *(f"note: {note}" for note in result.notes)]
    return "\n".join(lines)
