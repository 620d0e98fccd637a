"""Operating the real bot process: probes, metrics that count exactly, logs, trouble at start."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord
from tests.e2e.conftest import (
    START_TIMEOUT,
    BotProcess,
    is_final,
    running_stack,
    spawn_bot,
    stop_and_check,
)

pytestmark = pytest.mark.e2e

RECONNECT_TIMEOUT = 40.0  # discord.py's backoff between gateway attempts doubles up to 2**n s
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def eventually(check: Callable[[], object], timeout: float = 20.0) -> None:
    """Wait until ``check()`` (sync or async) is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


async def readyz(bot: BotProcess) -> tuple[int, dict[str, object]]:
    status, body = await bot.http_get("/readyz")
    return status, json.loads(body)


async def answers(bot: BotProcess) -> bool:
    """The health server is up (the process may still be starting)."""
    try:
        status, _ = await bot.http_get("/healthz")
    except OSError:
        return False
    return status == 200


async def metrics(bot: BotProcess) -> Samples:
    """Every sample of /metrics by name and labels."""
    status, text = await bot.http_get("/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_readyz_follows_the_gateway_from_start_through_a_drop(tmp_path: Path) -> None:
    """discord.py backs off (randomly, doubling) between gateway attempts: each outage here
    ends as soon as the bot has seen it, and the reconnects are given time."""
    failed = "Discord gateway connection failed (the server answered HTTP 503"
    async with LocalDiscord() as ld, Sandbox(task_duration=0.5) as sandbox:
        ld.refuse_gateway()  # Discord's REST answers, its gateway is down
        bot = await spawn_bot(ld, sandbox, tmp_path)
        await eventually(lambda: failed in bot.stderr(), START_TIMEOUT)

        status, body = await readyz(bot)
        assert status == 503, body
        assert set(body["reasons"]) == {"discord"}  # type: ignore[arg-type]
        assert (await bot.http_get("/healthz"))[0] == 200

        ld.refuse_gateway(False)
        await eventually(lambda: _status(bot, 200), RECONNECT_TIMEOUT)
        assert await readyz(bot) == (200, {"status": "ready"})

        ld.refuse_gateway()
        await ld.drop_connections()
        await eventually(lambda: _status(bot, 503))
        ld.refuse_gateway(False)
        status, body = await readyz(bot)
        assert "reconnecting" in str(body["reasons"])
        await eventually(lambda: _status(bot, 200), RECONNECT_TIMEOUT)

        log = bot.stderr()
        assert "Traceback" not in log
        await stop_and_check(bot)


async def _status(bot: BotProcess, expected: int) -> bool:
    return (await bot.http_get("/readyz"))[0] == expected


async def test_metrics_move_by_exactly_the_three_jobs_run(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        bot, ld = stack.bot, stack.ld
        await eventually(lambda: _status(bot, 200), timeout=5)  # READY reached the bot
        assert (await bot.http_get("/healthz"))[0] == 200
        before = await metrics(bot)

        handles = [
            await ld.send_slash_command("alice", "#general", "imagine", {"prompt": f"job {n}"})
            for n in range(3)
        ]
        for handle in handles:
            await handle.wait_for_original(is_final, timeout=20)
        delivered = {"kind": "imagine", "provider": "toapis"}
        await eventually(
            lambda: _reaches(bot, "easel_images_delivered_total", delivered, before, 3)
        )
        after = await metrics(bot)

        def moved(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("easel_jobs_accepted_total", kind="imagine") == 3
        done = {"kind": "imagine", "outcome": "completed", "provider": "toapis"}
        assert moved("easel_jobs_finished_total", **done) == 3
        assert moved("easel_images_delivered_total", **delivered) == 3
        assert moved("easel_job_duration_seconds_count", kind="imagine", outcome="completed") == 3
        submits = {"provider": "toapis", "endpoint": "/v1/images/generations", "status": "200"}
        assert moved("easel_upstream_requests_total", **submits) == 3
        polls = stack.sandbox.count("poll")
        assert value(after, "easel_upstream_status_queries_total") == polls
        assert value(after, "easel_queue_running") == 0
        assert value(after, "easel_discord_gateway_connected") == 1
        assert value(after, "easel_discord_guilds") == 1
        callback = "/interactions/{id}/{id}/callback"
        assert _route_total(after, callback) - _route_total(before, callback) == 3  # deferrals
        assert value(after, "easel_event_loop_lag_seconds_count") > 0


def _route_total(samples: Samples, route: str) -> float:
    """Discord REST requests to one route, every method and status."""
    return sum(
        count
        for (name, labels), count in samples.items()
        if name == "easel_discord_requests_total" and dict(labels)["route"] == route
    )


async def _reaches(
    bot: BotProcess, name: str, labels: dict[str, str], before: Samples, delta: float
) -> bool:
    return value(await metrics(bot), name, **labels) - value(before, name, **labels) >= delta


async def test_json_logs_name_the_job_and_never_the_token(tmp_path: Path) -> None:
    async with running_stack(tmp_path, LOG_FORMAT="json") as stack:
        ld = stack.ld
        handle = await ld.send_slash_command("alice", "#general", "imagine", {"prompt": "owl"})
        await handle.wait_for_original(is_final, timeout=20)
        await asyncio.sleep(0.3)  # the last job lines follow the message
        text = stack.bot.stderr()

    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert {"ts", "level", "logger", "message"} <= set(lines[0])
    job_lines = [line for line in lines if line["message"].startswith("job ")]
    assert job_lines, text
    assert all("job_id" in line and line["guild_id"] == stack.ld.guild.id for line in job_lines)
    assert any(line.get("provider") == "toapis" for line in job_lines)
    assert stack.ld.bot_token not in text


async def test_discord_out_of_reach_at_start_is_one_line_per_attempt(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    async with LocalDiscord() as ld, Sandbox() as sandbox:
        api = f"http://127.0.0.1:{unused_tcp_port}/api/v10"
        bot = await spawn_bot(ld, sandbox, tmp_path, DISCORD_API_BASE=api)
        await eventually(lambda: bot.stderr().count("cannot reach Discord") >= 2, START_TIMEOUT)

        status, body = await readyz(bot)
        assert status == 503
        assert body["reasons"] == {  # type: ignore[comparison-overlap]
            "discord": f"cannot reach Discord: connection refused (nothing listens on "
            f"127.0.0.1:{unused_tcp_port})"
        }
        attempts = [line for line in bot.stderr().splitlines() if "cannot reach Discord" in line]
        assert f"at {api}/users/@me: connection refused" in attempts[0]
        assert "attempt 1, trying again in" in attempts[0]
        assert "Traceback" not in bot.stderr()
        started = time.monotonic()
        await stop_and_check(bot)
        assert time.monotonic() - started < 5


async def test_a_rejected_token_at_start_exits_2_with_one_line(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox() as sandbox:
        wrong = "MTEx.not-this-bots-token.abcdefgh"
        bot = await spawn_bot(ld, sandbox, tmp_path, DISCORD_TOKEN=wrong)
        code = await asyncio.wait_for(bot.proc.wait(), START_TIMEOUT)

    assert code == 2
    err = bot.stderr()
    assert "configuration error: DISCORD_TOKEN: was rejected by Discord" in err
    assert "Traceback" not in err and wrong not in err
