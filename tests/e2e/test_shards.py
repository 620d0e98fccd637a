"""Two shard processes on one PostgreSQL: a SIGKILLed process's jobs are finished once by the
other, the restarted process takes new work, and limits hold across both.

Each process is the real ``python -m bot`` with ``SHARD_COUNT=2`` and its own ``SHARD_IDS``; the
local Discord routes each server's interactions to the process of its shard. Both share the
database and the ``data/`` folder (their working directory), as two containers would share the
database and a volume.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.jobs.scheduler import PollPolicy
from bot.policy.models import GuildSettings
from bot.sandbox.server import Sandbox
from bot.store.database import Database
from bot.store.policy import SqlPolicyStore
from local_discord import Channel, Guild, InteractionHandle, LocalDiscord, StoredMessage, User
from tests.e2e.conftest import (
    BotProcess,
    assert_never_pinged,
    final_embed,
    start_bot,
    stop_and_check,
)

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 3.0
HEARTBEAT_SECONDS = 0.5
#: A dead process's jobs are claimed at most this long after its last heartbeat: the lease runs
#: out, then the next heartbeat of a live process claims them (``bot/jobs/leases.py``).
TAKEOVER_BOUND = LEASE_SECONDS + HEARTBEAT_SECONDS
SLACK = 2.5  # scheduling on a loaded 2-core machine, and reading the log file
ACCEPTED = re.compile(r"job (?P<job>[0-9a-f]{32}): accepted \(imagine, user (?P<user>\d+)")


def shard_env(database_url: str, shard: int, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SHARD_COUNT": "2",
        "SHARD_IDS": str(shard),
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "JOB_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        **extra,
    }


async def start_shard(
    ld: LocalDiscord, sandbox: Sandbox, tmp: Path, database_url: str, shard: int, **extra: str
) -> BotProcess:
    """``python -m bot`` for one shard; ready once that shard is connected (shard 0: synced)."""
    identifies = ld.gateway.identifies

    def up(s: LocalDiscord) -> bool:
        fresh = s.gateway.identifies > identifies
        return fresh and shard in s.gateway.connected_shards and bool(s.synced_commands)

    return await start_bot(
        ld,
        sandbox,
        tmp,
        name=f"shard{shard}",
        until=up,
        **shard_env(database_url, shard, **extra),
    )


async def kill(bot: BotProcess) -> None:
    """SIGKILL: no cleanup, no lease handed back, no more heartbeats."""
    bot.proc.send_signal(signal.SIGKILL)
    await bot.proc.wait()


async def eventually(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Poll ``check`` (state outside the local Discord); returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.1f} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def general(guild: Guild) -> Channel:
    return next(c for c in guild.channels.values() if c.name == "general")


def is_result(message: StoredMessage) -> bool:
    return bool(message.attachments) and "ready" in str(final_embed(message).get("title"))


def result_versions(message: StoredMessage) -> int:
    """How many times the message was set to show images (more than once: delivered twice)."""
    return sum(1 for version in message.versions if version.payload.get("attachments"))


def jobs_of(bot: BotProcess, handles: list[InteractionHandle]) -> list[str]:
    """The job ids ``bot`` accepted for these members' interactions."""
    users = {h.user.id for h in handles}
    return [m["job"] for m in ACCEPTED.finditer(bot.stderr()) if int(m["user"]) in users]


async def imagine(
    ld: LocalDiscord, member: User, channel: Channel, prompt: str
) -> InteractionHandle:
    handle = await ld.send_slash_command(member, channel, "imagine", {"prompt": prompt})
    await handle.wait_for_callback(timeout=3)
    return handle


async def test_a_killed_shards_polling_jobs_are_delivered_once_by_the_other_within_the_lease(
    tmp_path: Path, postgres_url: str
) -> None:
    async with LocalDiscord(shards=2) as ld, Sandbox(task_duration=6.0) as sandbox:
        second = await ld.create_guild("Second", shard=1)
        here = await ld.add_users(3, prefix="here")  # the default server, shard 0
        there = await ld.add_users(3, prefix="there", guild=second)
        zero = await start_shard(ld, sandbox, tmp_path, postgres_url, 0)
        one = await start_shard(ld, sandbox, tmp_path, postgres_url, 1)

        handles = [await imagine(ld, m, ld.general, f"harbour {i}") for i, m in enumerate(here)]
        moved = [await imagine(ld, m, general(second), f"lantern {i}") for i, m in enumerate(there)]
        await eventually(
            "each server's jobs accepted by its shard's process",
            lambda: len(jobs_of(zero, handles)) == 3 and len(jobs_of(one, moved)) == 3,
            5,
        )
        await eventually("every job submitted", lambda: sandbox.count("submit") == 6, 10)
        await eventually("every task polled", lambda: sandbox.count("poll") >= 6, 10)

        moved_jobs = jobs_of(one, moved)
        assert not any(f"job {job}" in zero.stderr() for job in moved_jobs)
        await kill(one)
        # Shard 0 had never heard of these jobs: its first line about each is the take-over.
        took = await eventually(
            "shard 0 takes over the killed process's jobs",
            lambda: all(f"job {job}: " in zero.stderr() for job in moved_jobs),
            TAKEOVER_BOUND + SLACK,
        )
        finals = [await h.wait_for_original(is_result, timeout=30) for h in handles + moved]
        await asyncio.sleep(1.0)  # anything delivered twice would arrive now
        for message in finals:
            assert final_embed(message)["title"] == "✅ 1 image ready"
            assert result_versions(message) == 1, f"message {message.id} was delivered twice"
        assert sandbox.count("submit") == 6, "a job was submitted upstream twice"
        for job in moved_jobs:
            assert f"job {job}: 1 image(s) ready" in zero.stderr()
        assert took <= TAKEOVER_BOUND + SLACK

        # The killed shard comes back: it takes its servers' new work; nothing is redone.
        again = await start_shard(ld, sandbox, tmp_path, postgres_url, 1)
        late = await imagine(ld, there[0], general(second), "a second lantern")
        await eventually("the new job accepted", lambda: len(jobs_of(again, [late])) == 1, 5)
        assert jobs_of(zero, [late]) == [], "shard 0 accepted a job of shard 1's server"
        delivered = await late.wait_for_original(is_result, timeout=30)
        await asyncio.sleep(1.0)
        assert result_versions(delivered) == 1
        assert all(result_versions(message) == 1 for message in finals)
        assert sandbox.count("submit") == 7
        extra = [
            m
            for channel in (ld.general, general(second))
            for m in ld.channel_messages(channel)
            if m.author.id == ld.bot_user.id
            and m.attachments
            and m.id not in {f.id for f in [*finals, delivered]}
        ]
        assert extra == [], "a result was posted a second time as a channel message"
        await stop_and_check(zero)
        await stop_and_check(again)
        assert ld.internal_errors == []
        assert_never_pinged(ld)


async def seed_settings(database_url: str, settings: dict[int, GuildSettings]) -> None:
    """Server settings as an admin would have saved them before these processes started."""
    async with Database.open(database_url) as database:
        store = SqlPolicyStore(database)
        for guild_id, guild_settings in settings.items():
            await store.save_settings(guild_id, guild_settings)


async def test_one_member_in_servers_on_both_shards_keeps_one_cap_one_quota_one_budget(
    tmp_path: Path, postgres_url: str
) -> None:
    """The per-member cap spans both processes; each server's daily quota holds while the
    other process serves the same member; both processes' status queries fit one budget."""
    budget = 60  # status queries per minute for the whole account
    task_seconds = 2.0
    async with LocalDiscord(shards=2) as ld, Sandbox(task_duration=task_seconds) as sandbox:
        second = await ld.create_guild("Second", members=[ld.alice], shard=1)
        await seed_settings(
            postgres_url,
            {g.id: GuildSettings(member_daily_images=1) for g in (ld.guild, second)},
        )
        env = {"MAX_JOBS_PER_MEMBER": "1", "UPSTREAM_QUERIES_PER_MINUTE": str(budget)}
        zero = await start_shard(ld, sandbox, tmp_path, postgres_url, 0, **env)
        one = await start_shard(ld, sandbox, tmp_path, postgres_url, 1, **env)
        await asyncio.sleep(3 * HEARTBEAT_SECONDS)  # both heartbeats see two processes

        places = [ld.general, general(second)]
        others = [
            *(await ld.add_users(3, prefix="here")),
            *(await ld.add_users(3, prefix="there", guild=second)),
        ]
        sends = [
            ld.send_slash_command("alice", places[i % 2], "imagine", {"prompt": f"alice {i}"})
            for i in range(4)
        ] + [
            ld.send_slash_command(m, places[i // 3], "imagine", {"prompt": f"crowd {i}"})
            for i, m in enumerate(others)
        ]
        handles = list(await asyncio.gather(*sends))
        answers = [await h.wait_for_callback(timeout=3) for h in handles]
        alice = handles[:4]
        refused = [h for h, a in zip(alice, answers[:4], strict=True) if a.type == 4]
        assert len(refused) == 2, "one image a day per server: two of alice's four are refused"
        assert sorted(h.guild_id for h in refused) == sorted(g.id for g in (ld.guild, second))
        for handle in refused:
            assert "used 1 of your 1 image today" in str(handle.ack.data)  # type: ignore[union-attr]
        accepted = [h for h in handles if h not in refused]
        for handle in accepted:
            await handle.wait_for_original(is_result, timeout=60)

        submits = sandbox.requests_to("submit")
        assert len(submits) == 8
        alice_submits = sorted(r.at for r in submits if str(r.body["prompt"]).startswith("alice"))
        assert len(alice_submits) == 2
        # One job of hers upstream at a time, though each server is another process.
        assert alice_submits[1] - alice_submits[0] >= task_seconds

        polls = sorted(r.at for r in sandbox.requests_to("poll"))
        span = polls[-1] - polls[0]
        burst = PollPolicy().burst  # the account's burst, split between the processes
        assert len(polls) <= burst + budget / 60 * span + 2, (len(polls), span)
        assert len(polls) <= budget  # the whole run is under a minute: within one minute's
        assert span < 60
        for bot in (zero, one):
            await stop_and_check(bot)
        assert ld.internal_errors == []
        assert_never_pinged(ld)
