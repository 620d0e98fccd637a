"""A member Easel cannot reach: tried again while running, then given up on with a record.

The interaction token is dead, the channel permission is gone and the member's DMs are closed:
the result cannot be posted anywhere. The running bot tries again with backoff (no traceback for
this expected condition), delivers once posting is allowed again, and when it never is, records
the job as undeliverable where admins see it (the moderation log) and the member does (/jobs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord, StoredMessage
from tests.e2e.conftest import final_embed, start_bot, stop_and_check

pytestmark = pytest.mark.e2e

CHANNEL_MESSAGE = 4


def is_result(message: StoredMessage) -> bool:
    return bool(message.attachments) and "ready" in str(message.embeds)


async def make_unreachable(ld: LocalDiscord, member: str) -> None:
    """The token dies (15 minutes pass), the channel refuses the bot, DMs are closed."""
    ld.clock.advance(15 * 60 + 1)
    await ld.deny(ld.general, "send_messages")
    ld.close_dms(member)


async def wait_for_log(read: Callable[[], str], text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in read():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot never logged {text!r}")
        await asyncio.sleep(0.1)


async def test_a_member_reachable_again_gets_the_result_without_a_restart(tmp_path: Path) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=1.5) as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path, DELIVERY_RETRY_BACKOFF="1")
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a kite"})
        await handle.wait_for_callback(timeout=3)
        await make_unreachable(ld, "alice")
        offset = bot.stderr_offset()

        await wait_for_log(lambda: bot.stderr_since(offset), "could not tell the member", 20)
        await ld.allow(ld.general, "send_messages")  # an admin fixes the channel

        final = await handle.wait_for_original(is_result, timeout=20)
        assert final_embed(final)["title"] == "✅ 1 image ready"
        written = bot.stderr_since(offset)
        assert "Traceback" not in written and " ERROR " not in written, written
        await stop_and_check(bot)


async def test_a_member_never_reachable_is_given_up_on_and_recorded_for_admins(
    tmp_path: Path,
) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=1.0) as sandbox:
        bot = await start_bot(
            ld, sandbox, tmp_path, DELIVERY_ATTEMPTS="3", DELIVERY_RETRY_BACKOFF="0.3"
        )
        modlog = await ld.create_channel("mod-log")
        handle = await ld.send_slash_command(
            "owner", "#general", "easel", {"channel": modlog}, subcommand="modlog"
        )
        assert (await handle.wait_for_callback(timeout=5)).type == CHANNEL_MESSAGE
        (member,) = await ld.add_users(1)
        handle = await ld.send_slash_command(member, None, "imagine", {"prompt": "a lost kite"})
        await handle.wait_for_callback(timeout=3)
        await make_unreachable(ld, member.username)

        entry = await ld.wait_for_message(
            lambda m: m.channel_id == modlog.id and "could not be reached" in str(m.embeds),
            timeout=30,
        )  # the failure kind (undeliverable) in words: "made but the member could not be reached"
        assert "nor send the member a direct message" in str(entry.embeds)
        await ld.allow(ld.general, "send_messages")
        jobs = await ld.send_slash_command(member, "#general", "jobs")
        await jobs.wait_for_callback(timeout=3)
        listing = (await jobs.wait_for_followups(1, timeout=5))[0]
        assert "could not be posted" in str(listing.embeds)
        shutdown = bot.stderr()
        assert "Traceback" not in shutdown and " ERROR " not in shutdown, shutdown
        await stop_and_check(bot)
