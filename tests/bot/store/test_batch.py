"""Group commit of acceptances, on both backends: jobs accepted together are decided in order in
one transaction (each granted one counts for the next), a refused one gets its own refusal and
leaves nothing, a database error reaches every caller, and two processes batching at once still
cannot both take the last image. A burst costs a few transactions and statements, not N."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

import pytest

from bot.errors import PolicyRefusal
from bot.jobs.models import JobRequest
from bot.jobs.ports import StoreUnavailableError
from bot.jobs.records import JobRecord, JobState
from bot.options import Resolution
from bot.policy.acceptance import Acceptance, QuotaClaim, SpendClaim
from bot.policy.budget import Spending
from bot.policy.records import Reservation, SpendHold
from bot.policy.rules import Usage
from bot.store.batch import group_commit
from bot.store.database import Database, Row, Transaction
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

DAY = "2026-05-01"
GUILD = 900_000_000_000_000_001
ALICE, BOB = 7, 8


def record(job_id: str) -> JobRecord:
    return JobRecord(
        id=job_id,
        state=JobState.QUEUED,
        request=JobRequest(prompt="a fox"),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
        client_reference=f"easel-{job_id}",
        owner="this-process",
    )


def limits(*, member: int | None = None, server: int | None = None) -> Callable[..., Any]:
    """A decision factory: refuse ``images`` more past the member's or the server's limit."""

    def decision(images: int, seen: list[Usage] | None = None) -> Callable[[Usage], None]:
        def decide(usage: Usage) -> None:
            if seen is not None:
                seen.append(usage)
            if member is not None and usage.member_images + images > member:
                raise PolicyRefusal("no images left today", rule="member_quota")
            if server is not None and usage.server_images + images > server:
                raise PolicyRefusal("the server has no images left", rule="server_quota")

        return decide

    return decision


def accepting(
    job_id: str,
    user: int,
    images: int,
    decide: Callable[[Usage], None],
    *,
    at: float = 100.0,
    spend: SpendClaim | None = None,
) -> Acceptance:
    held = Reservation(job_id, GUILD, DAY, user, images, None)
    return Acceptance(
        quota=QuotaClaim(held, at, decide), spend=spend, job=record(job_id), lease=60.0
    )


async def outcomes(store: SqlPolicyStore, batch: Iterable[Acceptance]) -> list[str]:
    """Accept ``batch`` all at once: 'ok' or the refusal's rule, per acceptance."""
    answers = await asyncio.gather(*(store.accept(a) for a in batch), return_exceptions=True)
    return ["ok" if a is None else getattr(a, "rule", repr(a)) for a in answers]


@pytest.fixture
def store(database: Database) -> SqlPolicyStore:
    return SqlPolicyStore(database)


async def test_only_the_member_over_quota_in_the_middle_of_a_batch_is_refused(
    store: SqlPolicyStore, database: Database
) -> None:
    quota = limits(member=3)
    batch = [
        accepting("a", ALICE, 2, quota(2)),
        accepting("b", ALICE, 2, quota(2)),  # 2 + 2 > 3: the first one counts
        accepting("c", BOB, 3, quota(3)),
        accepting("d", ALICE, 1, quota(1)),  # 2 + 1 fits: b's refusal took nothing
    ]
    assert await outcomes(store, batch) == ["ok", "member_quota", "ok", "ok"]
    assert group_commit(database).stats.largest == 4  # one batch decided them all
    assert await store.member_usage(GUILD, DAY, ALICE) == (0, 3, 0, 6)
    jobs = SqlJobStore(database)
    assert [await jobs.get(j) is not None for j in "abcd"] == [True, False, True, True]
    cooldown = await database.fetch_one(
        "SELECT at FROM last_jobs WHERE scope = ? AND user_id = ?", (GUILD, ALICE)
    )
    assert cooldown is not None and float(cooldown["at"]) == 100.0


async def test_two_members_of_one_server_at_its_cap(store: SqlPolicyStore) -> None:
    await store.record_usage("earlier", GUILD, BOB, DAY, 2)  # 2 of the server's 5 used
    quota = limits(server=5)
    batch = [
        accepting("a", ALICE, 2, quota(2)),
        accepting("b", BOB, 2, quota(2)),  # 2 + 2 + 2 > 5
        accepting("c", BOB, 1, quota(1)),  # 2 + 2 + 1 = 5
        accepting("d", ALICE, 1, quota(1)),
    ]
    assert await outcomes(store, batch) == ["ok", "server_quota", "ok", "server_quota"]
    assert await store.member_usage(GUILD, DAY, BOB) == (2, 1, 2, 3)


async def test_each_decision_sees_the_member_s_last_job_in_the_batch(
    store: SqlPolicyStore,
) -> None:
    seen: list[Usage] = []
    quota = limits()
    batch = [
        accepting("a", ALICE, 1, quota(1, seen), at=100.0),
        accepting("b", BOB, 1, quota(1, seen), at=110.0),
        accepting("c", ALICE, 1, quota(1, seen), at=120.0),
    ]
    assert await outcomes(store, batch) == ["ok"] * 3
    assert [u.last_job_at for u in seen] == [None, None, 100.0]
    assert [u.member_images for u in seen] == [0, 0, 1]


def spend_claim(job_id: str, user: int, amount: str, limit: str, **kw: Any) -> SpendClaim:
    hold = SpendHold(job_id, GUILD, user, DAY, DAY, Decimal(amount))

    def decide(spending: Spending) -> None:  # this hold on top of what is spent and held
        total = spending.server.month + hold.amount
        if total > Decimal(limit):
            raise PolicyRefusal("the server's budget is spent", rule="server_budget")

    return SpendClaim(hold, "USD", decide, **kw)


async def test_budget_holds_in_a_batch_count_for_the_next_job(
    store: SqlPolicyStore, database: Database
) -> None:
    await store.hold_spend(SpendHold("old", GUILD, BOB, DAY, DAY, Decimal("0.05")), currency="USD")
    quota = limits()
    batch = [
        accepting("a", ALICE, 1, quota(1), spend=spend_claim("a", ALICE, "0.02", "0.10")),
        accepting("b", BOB, 1, quota(1), spend=spend_claim("b", BOB, "0.04", "0.10")),
        accepting("c", ALICE, 1, quota(1), spend=spend_claim("c", ALICE, "0.03", "0.10")),
        accepting(  # a host budget: every server's money, locked as one
            "d", BOB, 1, quota(1), spend=spend_claim("d", BOB, "0.01", "0.10", everywhere=True)
        ),
    ]
    assert await outcomes(store, batch) == ["ok", "server_budget", "ok", "server_budget"]
    held = await database.fetch_all("SELECT job_id, amount FROM spend_holds ORDER BY job_id")
    assert [(r["job_id"], Decimal(r["amount"])) for r in held] == [
        ("a", Decimal("0.02")),
        ("c", Decimal("0.03")),
        ("old", Decimal("0.05")),
    ]
    # A refused budget leaves no reservation either: all of a job, or none of it.
    assert await store.member_usage(GUILD, DAY, BOB) == (0, 0, 0, 2)


@pytest.fixture
async def other(database: Database, database_url: str) -> AsyncIterator[SqlPolicyStore]:
    """A second process's store: its own connection (and its own batches) on one database."""
    async with Database.open(database_url) as second:
        yield SqlPolicyStore(second)


async def test_two_processes_batching_at_once_cannot_both_take_the_last_image(
    store: SqlPolicyStore, other: SqlPolicyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.record_usage("earlier", GUILD, ALICE, DAY, 9)  # 9 of 10 used
    # The first process dwells between reading the usage and writing its grants: the other's
    # batch, arriving meanwhile, must wait for it rather than read the same usage.
    Counting(store.database, monkeypatch, pause_after_reading=0.3)
    quota = limits(member=10)
    first = asyncio.ensure_future(
        outcomes(store, [accepting(f"one{n}", ALICE, 1, quota(1)) for n in range(5)])
    )
    await asyncio.sleep(0.1)
    second = await outcomes(other, [accepting(f"two{n}", ALICE, 1, quota(1)) for n in range(5)])
    everything = [*await first, *second]
    assert everything.count("ok") == 1 and everything.count("member_quota") == 9
    assert everything[0] == "ok"  # the first batch read first and took it
    assert await store.member_usage(GUILD, DAY, ALICE) == (9, 1, 9, 1)


async def test_a_database_error_fails_the_whole_batch_for_every_caller(
    store: SqlPolicyStore, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(work: Callable[[Transaction], Awaitable[Any]]) -> Any:
        raise StoreUnavailableError("PostgreSQL unreachable for 60s")

    monkeypatch.setattr(database, "transaction", unreachable)
    quota = limits()
    batch = [accepting(job, ALICE, 1, quota(1)) for job in "abc"]
    answers = await asyncio.gather(*(store.accept(a) for a in batch), return_exceptions=True)
    assert all(isinstance(a, StoreUnavailableError) for a in answers)
    monkeypatch.undo()
    assert await store.member_usage(GUILD, DAY, ALICE) == (0, 0, 0, 0)
    assert await outcomes(store, [accepting("d", ALICE, 1, quota(1))]) == ["ok"]  # it recovers


class Counting:
    """Counts the transactions of a database and the statements sent in them (and can make
    each transaction dwell after a read, to let another process's batch come in between)."""

    def __init__(
        self, database: Database, monkeypatch: pytest.MonkeyPatch, pause_after_reading: float = 0
    ) -> None:
        self.transactions = 0
        self.statements = 0
        self.pause_after_reading = pause_after_reading
        real = database.transaction

        async def transaction(work: Callable[[Transaction], Awaitable[Any]]) -> Any:
            self.transactions += 1
            return await real(lambda tx: work(_CountingTransaction(tx, self)))

        monkeypatch.setattr(database, "transaction", transaction)


class _CountingTransaction:
    def __init__(self, tx: Transaction, counting: Counting) -> None:
        self.tx, self.counting = tx, counting

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        self.counting.statements += 1
        return await self.tx.execute(sql, params)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        self.counting.statements += 1
        rows = await self.tx.fetch_all(sql, params)
        await asyncio.sleep(self.counting.pause_after_reading)
        return rows

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        self.counting.statements += 1
        return await self.tx.fetch_one(sql, params)

    async def lock(self, key: str) -> None:
        self.counting.statements += 1
        await self.tx.lock(key)

    async def lock_all(self, keys: Iterable[str]) -> None:
        self.counting.statements += 1
        await self.tx.lock_all(keys)

    async def execute_many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        self.counting.statements += 1
        await self.tx.execute_many(sql, rows)


async def test_a_burst_of_acceptances_costs_a_few_transactions_not_one_per_job(
    store: SqlPolicyStore, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(database, monkeypatch)
    quota = limits(member=1)
    burst = [
        accepting(f"j{n}", 1000 + n, 1, quota(1), spend=spend_claim(f"j{n}", 1000 + n, "1", "99"))
        for n in range(60)
    ]
    assert await outcomes(store, burst) == ["ok"] * 60
    # Locks, one read of the quotas, one of the money, then one insert per table: reservations,
    # cooldown clocks, budget holds and job records. Sixty jobs one by one were 180
    # transactions and about 600 statements.
    assert counting.transactions == 1
    assert counting.statements == 7
    assert await SqlJobStore(database).get("j59") is not None
    # A lone job, once the burst is written, goes at once: one transaction of its own.
    await store.accept(accepting("alone", ALICE, 1, quota(1)))
    assert counting.transactions == 2
    # A lone record with nothing to decide (a command-line job) is one statement, as before.
    await SqlJobStore(database).add(record("cli"), lease=60.0)
    assert counting.transactions == 2
    assert await SqlJobStore(database).get("cli") is not None


async def test_acceptances_arriving_during_a_write_form_the_next_batch(
    store: SqlPolicyStore, database: Database
) -> None:
    commit = group_commit(database)
    quota = limits()
    first = asyncio.ensure_future(store.accept(accepting("first", ALICE, 1, quota(1))))
    await asyncio.sleep(0)  # its batch (of one) is being written
    later = [accepting(f"later{n}", BOB, 1, quota(1)) for n in range(10)]
    answers = await asyncio.gather(*(store.accept(a) for a in later))
    await first
    assert answers == [None] * 10
    assert (commit.stats.batches, commit.stats.acceptances) == (2, 11)
    assert commit.stats.largest == 10
