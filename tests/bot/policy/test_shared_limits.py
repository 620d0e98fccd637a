"""Limits across processes: two policy services on one database (PostgreSQL, and a SQLite file).

Each service stands for one process: its own memory, its own connection. The memory check is
the fast first word; ``confirm`` (after the interaction is acknowledged) makes the reservation in
the database, where the other process's usage and cooldowns are seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from bot.errors import PolicyRefusal
from bot.jobs.models import JobCompleted, JobFailed, JobRequest, ResultImage
from bot.jobs.records import JobRecord
from bot.options import OutputFormat, Resolution
from bot.policy.budget import Budget
from bot.policy.models import GuildSettings, JobContext
from bot.policy.rules import Rule
from bot.policy.service import PolicyService
from bot.policy.sync import PolicySync
from bot.store.database import Database
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

GUILD, OTHER_GUILD, CHANNEL, USER = 1_000_000_000_000_000_001, 2_000_000_000_000_000_002, 3, 4


@pytest.fixture
async def processes(database_url: str) -> AsyncIterator[tuple[PolicyService, PolicyService]]:
    """Two processes' policy services, each with its sync loop and its own connection."""
    async with Database.open(database_url) as first, Database.open(database_url) as second:
        services = []
        syncs = []
        for db in (first, second):
            store = SqlPolicyStore(db)
            service = PolicyService(store)
            sync = PolicySync(service, store, interval=0.1)
            await sync.start()
            services.append(service)
            syncs.append(sync)
        try:
            yield services[0], services[1]
        finally:
            for sync in syncs:
                await sync.stop()


def ctx(**changes: Any) -> JobContext:
    base: dict[str, Any] = {"guild_id": GUILD, "channel_id": CHANNEL, "user_id": USER}
    return JobContext(**{**base, **changes})


async def start(policy: PolicyService, job_id: str, **changes: Any) -> None:
    """What accepting a job does: the memory check, then the database's confirmation."""
    context = ctx(**changes)
    await policy.admit(context, job_id=job_id)
    await policy.confirm(context, job_id=job_id)


async def seen_everywhere(policy: PolicyService, **expected: Any) -> GuildSettings:
    async with asyncio.timeout(5):
        while True:
            settings = policy.settings(GUILD)
            if all(getattr(settings, key) == value for key, value in expected.items()):
                return settings
            await asyncio.sleep(0.02)


async def test_a_settings_change_in_one_process_applies_in_the_other_within_seconds(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    began = time.monotonic()
    await one.update(GUILD, by=1, member_daily_images=2, cooldown_seconds=30)
    await seen_everywhere(two, member_daily_images=2, cooldown_seconds=30)
    assert await one.add_term(GUILD, "forbidden fruit", by=1)
    async with asyncio.timeout(5):
        while two.terms(GUILD) != ("forbidden fruit",):
            await asyncio.sleep(0.02)
    assert time.monotonic() - began < 3
    with pytest.raises(PolicyRefusal) as refused:
        await two.admit(ctx(prompt="a forbidden fruit"), job_id="x")
    assert refused.value.rule == Rule.BLOCKED_TERM


async def test_the_daily_quota_holds_across_processes(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, member_daily_images=2)
    await seen_everywhere(two, member_daily_images=2)
    await start(one, "a")
    await start(two, "b")  # this process's memory has not seen "a": the database has
    with pytest.raises(PolicyRefusal) as refused:
        await start(one, "c")  # memory says 1 of 2; the database says 2 of 2
    assert refused.value.rule == Rule.MEMBER_QUOTA
    assert one.status(GUILD, USER).pending == 1  # c's reservation was given back
    status = await two.current_status(GUILD, USER)
    assert (status.pending, status.left) == (2, 0)


async def test_two_processes_cannot_both_grant_the_last_image(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, server_daily_images=1)
    await seen_everywhere(two, server_daily_images=1)
    outcomes = await asyncio.gather(
        start(one, "a", user_id=10), start(two, "b", user_id=20), return_exceptions=True
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "PolicyRefusal"]
    refusal = next(o for o in outcomes if isinstance(o, PolicyRefusal))
    assert refusal.rule == Rule.SERVER_QUOTA


async def test_a_cooldown_started_in_one_process_holds_in_the_other(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, cooldown_seconds=60)
    await seen_everywhere(two, cooldown_seconds=60)
    await start(one, "a")
    with pytest.raises(PolicyRefusal) as refused:
        await start(two, "b")
    assert refused.value.rule == Rule.COOLDOWN
    await start(two, "c", guild_id=OTHER_GUILD)  # cooldowns are per server


async def test_delivered_images_count_for_every_process_and_a_withdrawn_job_for_none(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, member_daily_images=3)
    await seen_everywhere(two, member_daily_images=3)
    await start(one, "a", n=2)
    await one.job_finished(_job("a", n=2), _completed(2))
    await start(two, "b")
    two.release("b")  # e.g. its attachment could not be read: nothing counts
    async with asyncio.timeout(5):
        while (await one.current_status(GUILD, USER)).pending:
            await asyncio.sleep(0.02)
    status = await one.current_status(GUILD, USER)
    assert (status.used, status.pending, status.left) == (2, 0, 1)
    await start(two, "c")  # the withdrawn job left no cooldown or hold behind


def _job(job_id: str, *, n: int) -> JobRecord:
    return JobRecord(
        id=job_id,
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=USER,
        request=JobRequest(prompt="a fox", n=n),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
        client_reference=f"easel-{job_id}",
    )


def _completed(images: int) -> JobCompleted:
    image = ResultImage(
        filename="a.png", data=b"", width=1, height=1, output_format=OutputFormat.PNG
    )
    return JobCompleted(task_id="t", images=(image,) * images, elapsed=1.0)


BUDGET = GuildSettings(server_budget=Budget(monthly=Decimal("0.10"))).server_budget
FOUR_CENTS = Decimal("0.04")


async def spend(policy: PolicyService, job_id: str, **changes: Any) -> None:
    """``start`` for a job estimated at four cents."""
    await start(policy, job_id, cost=FOUR_CENTS, image_cost=FOUR_CENTS, **changes)


async def test_a_server_budget_holds_across_processes(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, server_budget=BUDGET)
    await seen_everywhere(two, server_budget=BUDGET)
    await spend(one, "a", user_id=10)
    await spend(two, "b", user_id=20)  # this process's memory has not seen "a": the database has
    with pytest.raises(PolicyRefusal) as refused:
        await spend(one, "c", user_id=30)  # memory says 0.04 held; the database says 0.08 of 0.10
    assert refused.value.rule == Rule.SERVER_BUDGET
    assert "0.02 USD left" in refused.value.user_message
    assert one.status(GUILD, 30).pending == 0  # c's images were given back with its money
    job = _job("a", n=1)
    job.cost, job.currency = Decimal("0.01"), "USD"  # cheaper than estimated
    await one.job_finished(job, _completed(1))
    await spend(two, "d", user_id=40)  # 0.01 spent + 0.04 held (b) + 0.04 fits in 0.10


async def test_two_processes_cannot_both_spend_the_last_of_a_budget(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, server_budget=BUDGET)
    await seen_everywhere(two, server_budget=BUDGET)
    await spend(one, "a", user_id=10)  # 0.06 left: room for one more job, not two
    outcomes = await asyncio.gather(
        spend(one, "c", user_id=30), spend(two, "d", user_id=40), return_exceptions=True
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "PolicyRefusal"]
    refusal = next(o for o in outcomes if isinstance(o, PolicyRefusal))
    assert refusal.rule == Rule.SERVER_BUDGET


async def test_a_process_started_later_never_holds_the_others_running_jobs_in_memory(
    postgres_url: str,
) -> None:
    """It would never learn when they finish, and refuse for ever what the database allows."""
    async with Database.open(postgres_url) as first, Database.open(postgres_url) as second:
        one = PolicyService(SqlPolicyStore(first))
        syncs = [PolicySync(one, one.store, interval=0.1)]
        await syncs[0].start()
        try:
            await one.update(GUILD, by=1, member_daily_images=1)
            await start(one, "a")
            await SqlJobStore(first).add(_job("a", n=1))  # accepted: a running job on record
            two = PolicyService(SqlPolicyStore(second))  # starts while "a" runs elsewhere
            syncs.append(PolicySync(two, two.store, interval=0.1))
            await syncs[1].start()
            with pytest.raises(PolicyRefusal):  # the database still holds "a"
                await start(two, "b")
            await one.job_finished(_job("a", n=1), _failed())  # nothing made: nothing counts
            await start(two, "c")
        finally:
            for sync in syncs:
                await sync.stop()


def _failed() -> JobFailed:
    return JobFailed(reason="the image service failed", failure="upstream")


async def accept_and_record(policy: PolicyService, job_id: str, **changes: Any) -> None:
    """What the Discord path does: the memory check, then the confirmation and the job's record
    in one write (``engine.accept(record=policy.recorder(…))``)."""
    context = ctx(**changes)
    await policy.admit(context, job_id=job_id)
    await policy.recorder(context, job_id=job_id)(_job(job_id, n=1), lease=60.0)


async def test_jobs_recorded_with_their_confirmation_hold_the_server_cap_across_processes(
    processes: tuple[PolicyService, PolicyService],
) -> None:
    one, two = processes
    await one.update(GUILD, by=1, server_daily_images=3)
    await seen_everywhere(two, server_daily_images=3)
    members = [(policy, 100 * k + n) for k, policy in enumerate((one, two)) for n in range(3)]
    outcomes = await asyncio.gather(
        *(accept_and_record(policy, f"job{user}", user_id=user) for policy, user in members),
        return_exceptions=True,
    )
    refused = {
        user
        for (_, user), outcome in zip(members, outcomes, strict=True)
        if isinstance(outcome, PolicyRefusal) and outcome.rule == Rule.SERVER_QUOTA
    }
    assert outcomes.count(None) == 3 and len(refused) == 3  # each process's memory said yes
    assert (await one.current_status(GUILD, USER)).server_pending == 3
    assert isinstance(one.store, SqlPolicyStore)
    jobs = SqlJobStore(one.store.database)
    for policy, user in members:
        recorded = await jobs.get(f"job{user}") is not None
        assert recorded == (user not in refused)  # a refused job leaves no record
        assert policy.status(GUILD, user).pending == (0 if user in refused else 1)


async def test_a_burst_of_jobs_is_confirmed_and_recorded_in_a_few_transactions(
    processes: tuple[PolicyService, PolicyService], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = processes
    assert isinstance(one.store, SqlPolicyStore)
    database = one.store.database
    transactions: list[int] = []
    real = database.transaction

    async def counted(work: Any) -> Any:
        transactions.append(1)
        return await real(work)

    monkeypatch.setattr(database, "transaction", counted)
    await asyncio.gather(*(accept_and_record(one, f"j{n}", user_id=1000 + n) for n in range(40)))
    assert 1 <= len(transactions) <= 3  # one by one: 40 reserves, 40 records (and holds)
    assert (await one.current_status(GUILD, 1000)).server_pending == 40
