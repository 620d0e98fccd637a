"""Limits shared by every process: reservations in a locked transaction, cooldown clocks, and
settings versions, on both backends. Two "processes" are two stores on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.errors import PolicyRefusal
from bot.jobs.models import JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.options import Resolution
from bot.policy.models import GuildSettings
from bot.policy.records import Reservation
from bot.policy.rules import Usage
from bot.store.database import Database
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

DAY = "2026-05-01"
GUILD = 900_000_000_000_000_001


@pytest.fixture
async def two(database: Database, database_url: str) -> AsyncIterator[SqlPolicyStore]:
    """A second process's store: its own connection to the same database."""
    async with Database.open(database_url) as other:
        yield SqlPolicyStore(other)


@pytest.fixture
def one(database: Database) -> SqlPolicyStore:
    return SqlPolicyStore(database)


def hold(job_id: str) -> Reservation:
    return Reservation(job_id, GUILD, DAY, 7, 1, None)


def at_most(images: int, limit: int) -> Callable[[Usage], None]:
    """A decision: refuse when ``images`` more would pass ``limit`` for the member."""

    def decide(usage: Usage) -> None:
        if usage.member_images + images > limit:
            raise PolicyRefusal("no images left today", rule="member_quota")

    return decide


async def reserve(store: SqlPolicyStore, job_id: str, images: int, limit: int, **kw: int) -> None:
    held = Reservation(job_id, kw.get("scope", GUILD), DAY, kw.get("user_id", 7), images, None)
    await store.reserve(held, at=float(kw.get("at", 100)), decide=at_most(images, limit))


async def test_two_processes_cannot_both_grant_the_last_image(
    one: SqlPolicyStore, two: SqlPolicyStore
) -> None:
    await one.record_usage("done", GUILD, 7, DAY, 8)  # 8 of 10 used
    outcomes = await asyncio.gather(
        *(reserve(store, f"j{n}", 1, 10) for n, store in enumerate([one, two] * 3)),
        return_exceptions=True,
    )
    granted = [o for o in outcomes if o is None]
    refused = [o for o in outcomes if isinstance(o, PolicyRefusal)]
    assert len(granted) == 2 and len(refused) == 4
    assert await one.member_usage(GUILD, DAY, 7) == (8, 2, 8, 2)


async def test_a_reservation_becomes_usage_once_or_is_let_go(
    one: SqlPolicyStore, two: SqlPolicyStore
) -> None:
    await reserve(one, "a", 2, 10)
    await reserve(two, "b", 3, 10)
    assert await two.member_usage(GUILD, DAY, 7) == (0, 5, 0, 5)
    assert await one.settle("a", scope=GUILD, user_id=7, day=DAY, images=2, at=1.0)
    assert not await two.settle("a", scope=GUILD, user_id=7, day=DAY, images=2, at=1.0)
    assert await two.settle("b", scope=GUILD, user_id=7, day=DAY, images=0, at=1.0)  # failed
    assert await one.member_usage(GUILD, DAY, 7) == (2, 0, 2, 0)


async def test_the_cooldown_clock_is_shared_and_restored_when_a_job_is_not_accepted(
    one: SqlPolicyStore, two: SqlPolicyStore
) -> None:
    seen: list[float | None] = []

    def remember(usage: Usage) -> None:
        seen.append(usage.last_job_at)

    for store, job_id, at in ((one, "a", 100.0), (two, "b", 160.0)):
        await store.reserve(hold(job_id), at=at, decide=remember)
    assert seen == [None, 100.0]
    await two.release_reservation("b", previous_job_at=100.0)  # bad input: no cooldown from it
    await one.reserve(hold("c"), at=200.0, decide=remember)
    assert seen[-1] == 100.0
    await one.release_reservation("c", previous_job_at=None)
    await one.release_reservation("a", previous_job_at=None)  # a's clock was replaced by c's
    await two.reserve(hold("d"), at=300.0, decide=remember)
    assert seen[-1] is None


async def test_a_refusal_writes_nothing(one: SqlPolicyStore) -> None:
    with pytest.raises(PolicyRefusal):
        await reserve(one, "big", 11, 10)
    assert await one.member_usage(GUILD, DAY, 7) == (0, 0, 0, 0)


async def test_stale_holds_of_jobs_that_ended_or_never_started_are_swept(
    one: SqlPolicyStore, database: Database
) -> None:
    jobs = SqlJobStore(database)
    for job_id, state in (("running", "submitted"), ("ended", "failed")):
        await jobs.add(
            JobRecord(
                id=job_id,
                state=JobState(state),
                request=JobRequest(prompt="fox"),
                resolution=Resolution.R1K,
                width=1024,
                height=1024,
                client_reference=f"easel-{job_id}",
            )
        )
        await reserve(one, job_id, 1, 99, at=10)
    await reserve(one, "never-accepted", 1, 99, at=10)
    await reserve(one, "just-reserved", 1, 99, at=50)
    assert await one.sweep_reservations(before=20.0) == 2
    assert await one.member_usage(GUILD, DAY, 7) == (0, 2, 0, 2)


async def test_older_holds_are_adopted_once(one: SqlPolicyStore) -> None:
    held = [("old1", GUILD, DAY, 7, 2, 5.0), ("old2", GUILD, DAY, 8, 1, 6.0)]
    await one.adopt_reservations(held)
    await one.adopt_reservations(held)
    assert await one.member_usage(GUILD, DAY, 7) == (0, 2, 0, 3)


async def test_a_settings_change_is_seen_by_the_other_process(
    one: SqlPolicyStore, two: SqlPolicyStore
) -> None:
    since, changed = await two.changed_since(0.0)
    assert changed == {}
    await one.save_settings(GUILD, GuildSettings(member_daily_images=3), by=1)
    assert await one.add_term(GUILD, "Fox", "fox", by=1)
    assert not await one.add_term(GUILD, "fox", "fox", by=1)  # no change, no new version
    later, changed = await two.changed_since(since)
    assert changed == {GUILD: 2} and later >= since
    assert await two.guild_policy(GUILD) == (GuildSettings(member_daily_images=3), ["Fox"])
    assert await one.remove_term(GUILD, "fox")
    _, changed = await two.changed_since(later)
    assert changed == {GUILD: 3}
    assert (await two.changed_since(0.0))[1] == {GUILD: 3}
    assert await two.guild_policy(1) == (None, [])
