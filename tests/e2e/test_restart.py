"""Never lose a job: SIGKILL the real bot mid-work, start it again, every job lands exactly once.

The bot is killed with SIGKILL (no cleanup at all) while jobs are queued, being polled and being
downloaded; the same database is used by the next process, which must resume them. Buttons on
results posted by the first process must work in the second.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord, StoredMessage
from tests.e2e.conftest import (
    TASK_DURATION,
    BotProcess,
    assert_never_pinged,
    final_embed,
    start_bot,
    stop_and_check,
)

pytestmark = pytest.mark.e2e


async def kill(bot: BotProcess) -> None:
    """SIGKILL: the process gets no chance to save anything."""
    bot.proc.send_signal(signal.SIGKILL)
    await bot.proc.wait()


async def restart(ld: LocalDiscord, sandbox: Sandbox, tmp: Path, **env: str) -> BotProcess:
    """Start a new bot process on the same database once the old session is gone."""
    identifies = ld.gateway.identifies
    bot = await start_bot(ld, sandbox, tmp, **env)
    await ld.wait_for(lambda s: s.gateway.identifies > identifies, timeout=20)
    return bot


def result_versions(message: StoredMessage) -> int:
    """How many times the message was set to show images."""
    return sum(1 for version in message.versions if version.payload.get("attachments"))


def is_result(message: StoredMessage) -> bool:
    return (
        bool(message.attachments)
        and bool(message.embeds)
        and "ready" in str(message.embeds[0].get("title"))
    )


async def test_jobs_queued_polling_and_downloading_at_a_sigkill_are_each_delivered_once(
    tmp_path: Path,
) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=3.0) as sandbox:
        first = await start_bot(ld, sandbox, tmp_path, MAX_CONCURRENT_JOBS="2")
        members = await ld.add_users(4)
        handles = [
            await ld.send_slash_command(member, None, "imagine", {"prompt": f"lighthouse {i}"})
            for i, member in enumerate(members)
        ]
        for handle in handles:
            await handle.wait_for_callback(timeout=3)
        # Two jobs are being polled, two wait in the queue; one download will be slow.
        await ld.wait_for(lambda s: sandbox.stats().tasks >= 2, timeout=10)
        sandbox.faults.download_delay = 2.0
        await asyncio.sleep(2.5)  # the first two reach their (slow) downloads
        await kill(first)
        sandbox.faults.download_delay = 0.0

        second = await restart(ld, sandbox, tmp_path)
        assert "resumed 4 unfinished job(s)" in second.stderr(), second.stderr_tail()
        finals = []
        for handle in handles:
            message = await handle.wait_for_original(is_result, timeout=30)
            finals.append(message)
        await asyncio.sleep(1.0)  # anything duplicated would arrive now
        for message in finals:
            assert final_embed(message)["title"] == "✅ 1 image ready"
            assert result_versions(message) == 1, f"message {message.id} was delivered twice"
        assert sandbox.stats().tasks == 4, "a job was submitted twice"
        extra = [
            m
            for m in ld.channel_messages(ld.general)
            if m.author.id == ld.bot_user.id and m.attachments
        ]
        assert [m.id for m in extra if m.id not in {f.id for f in finals}] == []
        await stop_and_check(second)
        assert_never_pinged(ld)


async def test_a_results_buttons_work_after_the_bot_restarts(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=TASK_DURATION) as sandbox:
        first = await start_bot(ld, sandbox, tmp_path)
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a paper boat"})
        result = await handle.wait_for_original(is_result, timeout=20)
        await kill(first)

        second = await restart(ld, sandbox, tmp_path)
        reroll = next(
            component["custom_id"]
            for row in result.components
            for component in row["components"]
            if component.get("custom_id", "").startswith("easel:reroll:")
        )
        press = await ld.click_button("alice", result, reroll)
        assert (await press.wait_for_callback(timeout=3)).type == 5
        rerolled = await press.wait_for_original(is_result, timeout=20)
        assert "a paper boat" in str(rerolled.embeds)
        assert sandbox.stats().tasks == 2

        (member,) = await ld.add_users(1)  # not the requester, not an admin
        stranger = await ld.click_button(member, result, reroll)
        refusal = await stranger.wait_for_callback(timeout=3)
        assert refusal.type == 4 and "Only <@" in str(refusal.data)
        await stop_and_check(second)


async def test_a_deleted_progress_message_still_ends_with_the_result(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=2.5) as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path)
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a lost kite"})
        await handle.wait_for_callback(timeout=3)
        original = await handle.wait_for_original(lambda m: bool(m.embeds), timeout=10)
        # A moderator removes it mid-job; every later edit of it answers 10008.
        ld.world.delete_message(original, at=time.monotonic())
        ld.changed()
        delivered = await ld.wait_for_message(
            lambda m: (
                m.author.id == ld.bot_user.id and is_result(m) and "a lost kite" in str(m.embeds)
            ),
            timeout=20,
        )
        assert delivered.id != original.id
        assert any(r.error_code == 10008 for r in ld.requests)
        await stop_and_check(bot)


async def test_losing_the_channel_permission_sends_the_result_by_direct_message(
    tmp_path: Path,
) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=2.0) as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path)
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a quiet pond"})
        await handle.wait_for_callback(timeout=3)
        ld.clock.advance(15 * 60 + 1)  # the token dies, so delivery needs the channel…
        await ld.deny(ld.general, "send_messages")  # …which the bot may no longer use
        dm = await ld.wait_for_message(
            lambda m: (
                m.author.id == ld.bot_user.id
                and m.channel_id != ld.general.id
                and bool(m.attachments)
            ),
            timeout=20,
        )
        assert "a quiet pond" in str(dm.embeds)
        await stop_and_check(bot)
