"""Pure helpers: percentiles, sliding windows over per-second counts, and log parsing.

Delivery overhead needs to know when each job's upstream task finished. The sandbox's stats
endpoint reports only counters, so task start times come from its INFO log line ("Sandbox task
<id>: ...", logged as the task is created) and the job → task link from the bot's INFO log
(a line naming the job and its member, and "job <job id>: submitted as task <task id>").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bench.models import Distribution

_STAMP = r"(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<ms>\d{3})"
_SANDBOX_TASK = re.compile(_STAMP + r" \w+ [\w.]+: Sandbox task (?P<task>tsk_\w+):")
# Tolerant of wording: "job <id>: user <id> …" (the first engine) and "job <id>: accepted
# (imagine, user <id>, …)" (the durable engine); "job <id>[:] submitted as task <id>" in both.
_JOB_USER = re.compile(r"job (?P<job>[0-9a-f]{32})\b[^\n]*?\buser (?P<user>\d+)")
_JOB_TASK = re.compile(r"job (?P<job>[0-9a-f]{32}):? submitted as task (?P<task>tsk_\w+)")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (what a p99 of 200 samples means: the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * q / 100))
    return ordered[rank - 1]


def distribution(values: Iterable[float], digits: int = 3) -> Distribution:
    """p50/p95/p99/max/mean of the values (empty: only ``n=0``)."""
    data = list(values)
    if not data:
        return Distribution(n=0)
    return Distribution(
        n=len(data),
        p50=round(percentile(data, 50), digits),
        p95=round(percentile(data, 95), digits),
        p99=round(percentile(data, 99), digits),
        max=round(max(data), digits),
        mean=round(sum(data) / len(data), digits),
    )


def per_second_series(
    per_second: Mapping[str, Mapping[str, int]], endpoints: Iterable[str]
) -> list[int]:
    """Requests per second (summed over ``endpoints``), one entry per second, gaps as zero."""
    wanted = set(endpoints)
    seconds = {int(second): counts for second, counts in per_second.items()}
    if not seconds:
        return []
    return [
        sum(count for name, count in seconds.get(second, {}).items() if name in wanted)
        for second in range(min(seconds), max(seconds) + 1)
    ]


def max_window(series: Sequence[int], width: int = 60) -> int:
    """The largest sum over any ``width`` consecutive seconds."""
    if not series:
        return 0
    best = current = sum(series[:width])
    for i in range(width, len(series)):
        current += series[i] - series[i - width]
        best = max(best, current)
    return best


def sandbox_task_starts(log_text: str) -> dict[str, float]:
    """Task id → unix time the sandbox created it (log timestamps: local time, milliseconds)."""
    starts: dict[str, float] = {}
    for match in _SANDBOX_TASK.finditer(log_text):
        stamp = datetime.strptime(match["stamp"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - local, as logged
        starts[match["task"]] = stamp.timestamp() + int(match["ms"]) / 1000
    return starts


@dataclass(frozen=True)
class BotLog:
    """What the bot's log says about its jobs."""

    job_of_user: dict[int, str]  # a member's latest job
    task_of_job: dict[str, str]


def parse_bot_log(log_text: str) -> BotLog:
    """Job ids by member and task ids by job, from the bot's INFO lines."""
    job_of_user = {int(m["user"]): m["job"] for m in _JOB_USER.finditer(log_text)}
    task_of_job = {m["job"]: m["task"] for m in _JOB_TASK.finditer(log_text)}
    return BotLog(job_of_user, task_of_job)
