"""Leases: one owner per unfinished job, claims that never overlap, caps across processes.

Each test runs on SQLite and on PostgreSQL; "processes" here are owners (store calls with
different owner ids), which is all the database sees of them.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.jobs.models import JobRequest
from bot.jobs.ports import LeaseLostError, Worker
from bot.jobs.queue import QueueLimits
from bot.jobs.records import JobRecord, JobState
from bot.options import Resolution
from bot.store.database import Database
from bot.store.jobs import SqlJobStore


@pytest.fixture
def store(database: Database) -> SqlJobStore:
    return SqlJobStore(database)


def record(job_id: str, owner: str = "", **changes: object) -> JobRecord:
    base: dict[str, object] = {
        "id": job_id,
        "owner": owner,
        "request": JobRequest(prompt="fox"),
        "resolution": Resolution.R1K,
        "width": 1024,
        "height": 1024,
        "client_reference": f"easel-{job_id}",
        "user_id": 7,
        "guild_id": 8,
        "created_at": float(sum(map(ord, job_id))),
    }
    return JobRecord.model_validate({**base, **changes})


async def test_a_live_lease_is_not_claimed_and_an_expired_one_is(store: SqlJobStore) -> None:
    await store.add(record("a", owner="one"), lease=0.3)
    assert await store.claim("two", ["discord"], lease=5, limit=10) == []
    await asyncio.sleep(0.4)
    claimed = await store.claim("two", ["discord"], lease=5, limit=10)
    assert [(job.id, job.owner) for job in claimed] == [("a", "two")]
    loaded = await store.get("a")
    assert loaded is not None and loaded.owner == "two"


async def test_the_old_owner_cannot_write_a_job_taken_over(store: SqlJobStore) -> None:
    mine = record("a", owner="one")
    await store.add(mine, lease=0.2)
    await asyncio.sleep(0.3)
    [theirs] = await store.claim("two", ["discord"], lease=5, limit=1)
    mine.state = JobState.FAILED
    with pytest.raises(LeaseLostError):
        await store.save(mine)
    theirs.state = JobState.SUBMITTED
    await store.save(theirs)
    loaded = await store.get("a")
    assert loaded is not None and loaded.state is JobState.SUBMITTED


async def test_jobs_nobody_holds_are_claimed_oldest_first_up_to_the_limit(
    store: SqlJobStore,
) -> None:
    for job_id, at in (("new", 3.0), ("old", 1.0), ("mid", 2.0)):
        await store.add(record(job_id, created_at=at))
    await store.add(record("told", notified=True, state=JobState.DELIVERED, created_at=0.5))
    await store.add(record("cli", origin="cli", created_at=0.1))
    first = await store.claim("me", ["discord"], lease=5, limit=2)
    assert [job.id for job in first] == ["old", "mid"]
    assert [job.id for job in await store.claim("me", ["discord"], lease=5, limit=9)] == ["new"]
    assert [job.id for job in await store.claim("me", ["cli"], lease=5, limit=9)] == ["cli"]


async def test_concurrent_claims_never_hand_one_job_to_two_owners(store: SqlJobStore) -> None:
    for index in range(30):
        await store.add(record(f"j{index:02}"))
    results = await asyncio.gather(
        *(store.claim(f"owner{n}", ["discord"], lease=5, limit=4) for n in range(10))
    )
    ids = [job.id for batch in results for job in batch]
    assert len(ids) == len(set(ids)) == 30
    for batch, n in zip(results, range(10), strict=True):
        for job in batch:
            loaded = await store.get(job.id)
            assert loaded is not None and loaded.owner == f"owner{n}"


async def test_renewing_keeps_a_lease_alive_and_reports_what_was_lost(store: SqlJobStore) -> None:
    await store.add(record("kept", owner="me"), lease=0.3)
    await store.add(record("lost", owner="me"), lease=0.3)
    await asyncio.sleep(0.15)
    assert await store.renew("me", {"kept"}, lease=0.3) == {"kept"}
    await asyncio.sleep(0.25)  # "lost" expired, "kept" did not
    taken = await store.claim("other", ["discord"], lease=5, limit=9)
    assert [job.id for job in taken] == ["lost"]
    assert await store.renew("me", {"kept", "lost"}, lease=5) == {"kept"}


async def test_released_jobs_are_claimable_at_once(store: SqlJobStore) -> None:
    await store.add(record("a", owner="me"), lease=60)
    await store.add(record("b", owner="me"), lease=60)
    await store.release("someone-else", {"a", "b"})  # only the owner can release
    assert await store.claim("other", ["discord"], lease=5, limit=9) == []
    await store.release("me", {"a"})
    assert [job.id for job in await store.claim("other", ["discord"], lease=5, limit=9)] == ["a"]


async def test_taking_live_leases_is_for_a_restarted_single_process(store: SqlJobStore) -> None:
    await store.add(record("a", owner="before-restart"), lease=60)
    claimed = await store.claim("after-restart", ["discord"], lease=5, limit=9, take_live=True)
    assert [job.owner for job in claimed] == ["after-restart"]


async def test_a_repeated_add_after_a_lost_reply_changes_nothing(store: SqlJobStore) -> None:
    job = record("a", owner="me")
    await store.add(job, lease=60)
    job.progress = 50
    await store.add(job, lease=60)
    loaded = await store.get("a")
    assert loaded is not None and loaded.progress == 0


async def test_the_member_cap_holds_across_servers_and_owners(store: SqlJobStore) -> None:
    limits = QueueLimits(global_jobs=10, per_guild=10, per_member=2)
    jobs = [
        record("a", owner="one", guild_id=1),
        record("b", owner="two", guild_id=2),
        record("c", owner="two", guild_id=2),
        record("d", owner="one", guild_id=1, user_id=99),
    ]
    for job in jobs:
        await store.add(job, lease=60)
    started = [await store.start_running(job, limits) for job in jobs]
    assert started == [True, True, False, True]
    assert [j.state for j in jobs] == [JobState.UPLOADING] * 2 + [
        JobState.QUEUED,
        JobState.UPLOADING,
    ]
    jobs[0].state, jobs[0].notified = JobState.DELIVERED, True
    await store.save(jobs[0])
    assert await store.start_running(jobs[2], limits) is True


async def test_the_server_and_global_caps_hold_across_owners(store: SqlJobStore) -> None:
    limits = QueueLimits(global_jobs=3, per_guild=2, per_member=10)
    jobs = [record(f"g{n}", owner=f"o{n}", guild_id=1, user_id=n) for n in range(3)]
    jobs += [record(f"h{n}", owner=f"o{n}", guild_id=2, user_id=10 + n) for n in range(3)]
    for job in jobs:
        await store.add(job, lease=60)
    started = [await store.start_running(job, limits) for job in jobs]
    assert started == [True, True, False, True, False, False]


async def test_two_owners_racing_for_the_last_slot_get_one(store: SqlJobStore) -> None:
    limits = QueueLimits(global_jobs=1, per_guild=5, per_member=5)
    jobs = [record(f"r{n}", owner=f"o{n}", user_id=n) for n in range(8)]
    for job in jobs:
        await store.add(job, lease=60)
    started = await asyncio.gather(*(store.start_running(job, limits) for job in jobs))
    assert sorted(started) == [False] * 7 + [True]


async def test_starting_a_job_another_owner_took_raises(store: SqlJobStore) -> None:
    mine = record("a", owner="one")
    await store.add(mine, lease=0.1)
    await asyncio.sleep(0.2)
    await store.claim("two", ["discord"], lease=5, limit=1)
    with pytest.raises(LeaseLostError):
        await store.start_running(mine, QueueLimits())


async def test_live_workers_are_counted_from_their_heartbeats(store: SqlJobStore) -> None:
    assert await store.beat(Worker(id="w1", shards="0"), lease=0.3) == 1
    assert await store.beat(Worker(id="w2", shards="1"), lease=5) == 2
    assert await store.beat(Worker(id="w2", shards="1"), lease=5) == 2  # a beat, not a new one
    await asyncio.sleep(0.4)
    assert [worker.id for worker in await store.workers()] == ["w2"]
    assert await store.beat(Worker(id="w3"), lease=5) == 2
    await store.leave("w3")
    assert [worker.shards for worker in await store.workers()] == ["1"]


async def test_starting_twice_after_a_lost_reply_still_starts_once(store: SqlJobStore) -> None:
    limits = QueueLimits(global_jobs=1, per_guild=1, per_member=1)
    job = record("a", owner="me")
    await store.add(job, lease=60)
    copy = job.model_copy()
    assert await store.start_running(job, limits)
    assert await store.start_running(copy, limits)  # the same transaction, sent again
    other = record("b", owner="me", user_id=8)
    await store.add(other, lease=60)
    assert not await store.start_running(other, limits)  # "a" holds the only slot
