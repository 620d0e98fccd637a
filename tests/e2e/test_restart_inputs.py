"""A restart while a job reads its input images (or while Discord answers its defer) loses nothing.

The local Discord serves the member's attachment slowly (a large upload on a slow link), or holds
back its answer to the defer; the bot is stopped in that window with SIGKILL or SIGTERM. The job
was recorded before the slow step, so the next process reads the attachment again and posts the
job's public message once the image passed (the private "thinking…" goes), or, when the
attachment link has expired meanwhile, tells the member plainly and privately. SIGTERM in that
window exits cleanly, without a traceback.
"""

from __future__ import annotations

import asyncio
import io
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord
from local_discord.interactions import InteractionHandle
from tests.e2e.conftest import (
    BotProcess,
    final_embed,
    is_final,
    start_bot,
    stop_and_check,
    wait_for_job_message,
)

pytestmark = pytest.mark.e2e

DEFERRED = 5
EPHEMERAL = 1 << 6


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 60, 200)).save(out, "PNG")
    return out.getvalue()


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Poll a condition the local Discord does not wake anyone for (its CDN counter)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def restart(ld: LocalDiscord, sandbox: Sandbox, tmp: Path) -> BotProcess:
    identifies = ld.gateway.identifies
    bot = await start_bot(ld, sandbox, tmp)
    await ld.wait_for(lambda s: s.gateway.identifies > identifies, timeout=20)
    return bot


async def edit_while_the_download_hangs(ld: LocalDiscord) -> InteractionHandle:
    """Alice runs /edit; her 'large' image downloads slowly; returns once the download began."""
    ld.cdn_delay = 60
    reads = ld.cdn_reads
    handle = await ld.send_slash_command(
        "alice",
        "#general",
        "edit",
        {"prompt": "a red door", "image": ("house.png", png(), "image/png")},
    )
    assert (await handle.wait_for_callback(timeout=5)).type == DEFERRED
    await until(lambda: ld.cdn_reads > reads)
    return handle


def the_image(ld: LocalDiscord) -> Any:
    return ld.world.attachments[max(ld.world.attachments)]


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_a_restart_while_an_attachment_downloads_still_delivers_the_edit(
    tmp_path: Path, how: str
) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=1.0) as sandbox:
        first = await start_bot(ld, sandbox, tmp_path)
        handle = await edit_while_the_download_hangs(ld)

        if how == "SIGKILL":
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
        else:
            await stop_and_check(first)  # exit 0, no traceback, no ERROR on the way out
        ld.cdn_delay = 0
        second = await restart(ld, sandbox, tmp_path)

        final = await wait_for_job_message(handle, is_final, timeout=30)
        assert final_embed(final)["title"] == "✅ 1 image ready", final_embed(final)
        assert not final.ephemeral, "made public once the image was read and passed"
        assert "resumed 1 unfinished job(s)" in second.stderr()
        assert sandbox.count("submit") == 1
        await stop_and_check(second)


async def test_an_attachment_expired_during_the_restart_is_told_privately(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=1.0) as sandbox:
        first = await start_bot(ld, sandbox, tmp_path)
        handle = await edit_while_the_download_hangs(ld)
        first.proc.send_signal(signal.SIGKILL)
        await first.proc.wait()
        ld.cdn_delay = 0
        ld.expire_attachment(the_image(ld))

        second = await restart(ld, sandbox, tmp_path)

        (note,) = await handle.wait_for_followups(1, timeout=20)
        assert note.flags & EPHEMERAL
        assert "house.png" in note.content and "Attach it again" in note.content
        assert handle.original is None or handle.original.deleted, "no public thinking… left"
        assert sandbox.count("submit") == 0
        await stop_and_check(second)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_a_restart_before_discord_answers_the_defer_still_delivers(
    tmp_path: Path, how: str
) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=1.0) as sandbox:
        first = await start_bot(ld, sandbox, tmp_path)
        ld.callback_answer_delay = 60  # the member sees "thinking…"; the bot hears nothing yet
        handle = await ld.send_slash_command("alice", "#general", "imagine", {"prompt": "a mill"})
        assert (await handle.wait_for_callback(timeout=5)).type == DEFERRED
        await asyncio.sleep(0.3)  # the job is being recorded alongside the defer
        if how == "SIGKILL":
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
        else:
            await stop_and_check(first)  # the acceptance is cancelled cleanly, not lost
        ld.callback_answer_delay = 0

        second = await restart(ld, sandbox, tmp_path)

        final = await handle.wait_for_original(is_final, timeout=30)
        assert final_embed(final)["title"] == "✅ 1 image ready", final_embed(final)
        await stop_and_check(second)
