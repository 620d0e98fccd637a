"""Stopping the real bot process: SIGTERM ends it with exit code 0, no traceback, in seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord
from tests.e2e.conftest import start_bot, stop_and_check

pytestmark = pytest.mark.e2e

SHUTDOWN_BUDGET = 5.0  # seconds from SIGTERM to exit (container runtimes SIGKILL after 10)


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition the local Discord is not woken by (sandbox counters)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def test_sigterm_on_an_idle_bot_exits_with_code_0_and_no_traceback(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox() as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path)

        started = time.monotonic()
        await stop_and_check(bot)

        assert time.monotonic() - started < SHUTDOWN_BUDGET
        assert ld.internal_errors == []


async def test_sigterm_during_a_job_exits_with_code_0_and_no_traceback(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=60) as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path)
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a long night"})
        await handle.wait_for_callback(timeout=3)
        await wait_until(lambda: sandbox.count("poll") >= 1)  # submitted and being polled

        started = time.monotonic()
        await stop_and_check(bot)

        assert time.monotonic() - started < SHUTDOWN_BUDGET
        assert ld.internal_errors == []
