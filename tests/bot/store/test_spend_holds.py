"""The spending books and budget holds every process shares, on both backends: exact sums of
what was spent and held, a refused hold leaves nothing, a hold ends when its job's cost is
recorded or let go; reports, running jobs' estimates and members' defaults."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.errors import PolicyRefusal
from bot.jobs.models import JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.options import Resolution
from bot.policy.budget import Spending, Spent
from bot.policy.defaults import JobDefaults
from bot.policy.records import SpendEntry, SpendHold
from bot.providers.prices import UNKNOWN
from bot.store.database import Database
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

GUILD, OTHER_GUILD = 1_234_567_890_123_456_789, 987_654_321_098_765_432  # 64-bit snowflakes
MEMBER, SOMEONE = 7, 8
DAY = "2026-08-20"
NOON = datetime(2026, 8, 20, 12, tzinfo=UTC).timestamp()


@pytest.fixture
def store(database: Database) -> SqlPolicyStore:
    return SqlPolicyStore(database)


def spend(
    job: str, amount: str | None, *, guild: int = GUILD, user: int = MEMBER, **kw: object
) -> SpendEntry:
    values: dict[str, object] = {
        "job_id": job,
        "guild_id": guild,
        "user_id": user,
        "day": DAY,
        "accepted_at": NOON,
        "images": 1,
        "cost": None if amount is None else Decimal(amount),
        "currency": "USD",
    }
    return SpendEntry.model_validate({**values, **kw})


def hold(job: str, amount: str, *, scope: int = GUILD, user: int = MEMBER) -> SpendHold:
    return SpendHold(job, scope, user, DAY, DAY, Decimal(amount))


async def seen_by(
    store: SqlPolicyStore, job: str, amount: str = "0.04", *, everywhere: bool = True
) -> Spending:
    """What a new hold's decision is shown (nothing is written: it refuses)."""
    shown: list[Spending] = []

    def decide(spending: Spending) -> None:
        shown.append(spending)
        raise PolicyRefusal("enough", rule="test")

    with pytest.raises(PolicyRefusal):
        await store.hold_spend(
            hold(job, amount), currency="USD", decide=decide, everywhere=everywhere
        )
    return shown[-1]


async def test_a_decision_sees_exact_sums_of_what_was_spent_and_held(store: SqlPolicyStore) -> None:
    # Amounts a float would get wrong: 0.1 + 0.2 is 0.3 here, on both backends.
    await store.record_spend(spend("a", "0.1"))
    earlier = NOON - 17 * 86400
    await store.record_spend(spend("b", "0.2", day="2026-08-03", accepted_at=earlier))
    await store.record_spend(spend("c", "0.3", user=SOMEONE))  # the server, someone else
    await store.record_spend(spend("d", "5", guild=OTHER_GUILD))  # the host only
    await store.record_spend(spend("e", "9", day="2026-07-31", accepted_at=NOON - 30 * 86400))
    await store.record_spend(spend("f", None))  # unknown price: not counted
    await store.record_spend(spend("g", "7", currency="EUR"))  # another currency: not counted
    await store.hold_spend(hold("h", "0.01"), currency="USD")
    await store.hold_spend(hold("i", "0.02", scope=OTHER_GUILD), currency="USD")

    seen = await seen_by(store, "new")

    assert seen == Spending(
        member=Spent(Decimal("0.11"), Decimal("0.31")),
        server=Spent(Decimal("0.41"), Decimal("0.61")),
        host=Spent(Decimal("5.43"), Decimal("5.63")),
    )
    alone = await seen_by(store, "new", everywhere=False)  # no budget covers every server
    assert alone.host == Spent() and alone.server == seen.server


async def test_a_refused_hold_writes_nothing_and_a_job_never_counts_against_itself(
    store: SqlPolicyStore,
) -> None:
    await seen_by(store, "a")
    assert await seen_by(store, "b") == Spending()  # "a" was refused: no hold left behind
    await store.hold_spend(hold("a", "0.04"), currency="USD")
    await store.hold_spend(hold("a", "0.04"), currency="USD")  # a retried confirmation
    assert (await seen_by(store, "b")).member == Spent(Decimal("0.04"), Decimal("0.04"))
    assert (await seen_by(store, "a")).member == Spent()  # its own hold is not counted twice


async def test_a_hold_becomes_the_recorded_cost_or_is_let_go(store: SqlPolicyStore) -> None:
    for job in ("a", "b", "c"):
        await store.hold_spend(hold(job, "0.04"), currency="USD")
    assert await store.record_spend(spend("a", "0.03"))  # the final cost replaces the estimate
    await store.drop_spend_hold("b")  # finished with nothing to charge
    await store.release_reservation("c", previous_job_at=None)  # not accepted after all
    assert (await seen_by(store, "new")).member == Spent(Decimal("0.03"), Decimal("0.03"))


async def test_holds_of_running_jobs_are_adopted_once_and_stale_ones_swept(
    store: SqlPolicyStore,
) -> None:
    await store.hold_spend(hold("a", "0.04"), currency="USD")
    await store.record_spend(spend("done", "0.05"))
    await store.adopt_spend_holds(
        [hold("a", "9"), hold("b", "0.02"), hold("done", "0.05")], currency="USD"
    )
    # "a" keeps its hold, "b" is adopted, "done" was recorded already (not held twice).
    assert (await seen_by(store, "new")).member == Spent(Decimal("0.11"), Decimal("0.11"))
    swept = await store.sweep_reservations(before=await store.database.clock() + 1)
    assert swept == 2  # no job row behind "a" and "b": their processes died before recording
    assert (await seen_by(store, "new")).member == Spent(Decimal("0.05"), Decimal("0.05"))


async def test_two_holds_cannot_both_take_the_last_of_a_budget(database_url: str) -> None:
    budget = Decimal("0.10")
    async with Database.open(database_url) as one, Database.open(database_url) as two:
        stores = [SqlPolicyStore(one), SqlPolicyStore(two)]
        await stores[0].record_spend(spend("spent", "0.06"))

        async def take(store: SqlPolicyStore, job: str) -> None:
            def decide(spending: Spending) -> None:
                if spending.server.month + Decimal("0.04") > budget:
                    raise PolicyRefusal("over", rule="server_budget")

            await store.hold_spend(hold(job, "0.04"), currency="USD", decide=decide)

        outcomes = await asyncio.gather(
            *(take(stores[n % 2], f"job{n}") for n in range(6)), return_exceptions=True
        )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, PolicyRefusal) for o in outcomes if o is not None)


# ---------------------------------------------------------------------------- the spending books


async def test_the_books_record_each_job_once_and_report_by_server_and_day(
    store: SqlPolicyStore,
) -> None:
    assert await store.record_spend(spend("a", "0.04"))
    assert not await store.record_spend(spend("a", "0.04"))  # a finish hook that ran twice
    await store.record_spend(spend("b", None, guild=OTHER_GUILD, day="2026-08-21"))
    await store.record_usage("a", GUILD, MEMBER, DAY, 1)
    await store.record_usage("old", GUILD, MEMBER, DAY, 2)  # from before prices were kept

    loaded = await store.spend_since(NOON - 1)
    assert sorted((e.job_id, e.guild_id, str(e.cost)) for e in loaded) == [
        ("a", GUILD, "0.04"),
        ("b", OTHER_GUILD, "None"),
    ]
    ours = await store.job_spend(GUILD, DAY)
    assert sorted((j.images, str(j.cost)) for j in ours) == [(1, "0.04"), (2, "None")]
    everyone = await store.job_spend(None, DAY, "2026-08-21")
    assert sorted((j.guild_id, j.day, str(j.cost)) for j in everyone) == [
        (OTHER_GUILD, "2026-08-21", "None"),
        (GUILD, DAY, "0.04"),
        (GUILD, DAY, "None"),
    ]
    assert await store.job_spend(GUILD, "2026-08-21") == []


async def test_running_jobs_are_listed_with_their_estimates(
    store: SqlPolicyStore, database: Database
) -> None:
    jobs = SqlJobStore(database)
    for job_id, state, estimate in (
        ("run", JobState.SUBMITTED, Decimal("0.04")),
        ("unknown", JobState.QUEUED, UNKNOWN),
        ("done", JobState.DELIVERED, Decimal("0.04")),
    ):
        await jobs.add(_job(job_id, state=state, estimated_cost=estimate, currency="USD"))
    pending = {p.job_id: p.estimated_cost for p in await store.pending_spend()}
    assert pending == {"run": Decimal("0.04"), "unknown": UNKNOWN}


async def test_a_members_defaults_are_kept_replaced_and_forgotten(store: SqlPolicyStore) -> None:
    await store.save_member_defaults(GUILD, MEMBER, JobDefaults(n=2))
    await store.save_member_defaults(GUILD, MEMBER, JobDefaults(n=3, resolution=Resolution.R2K))
    await store.save_member_defaults(OTHER_GUILD, MEMBER, JobDefaults(n=1))
    assert await store.all_member_defaults() == {
        (GUILD, MEMBER): JobDefaults(n=3, resolution=Resolution.R2K),
        (OTHER_GUILD, MEMBER): JobDefaults(n=1),
    }
    await store.save_member_defaults(GUILD, MEMBER, JobDefaults())  # empty: forget them
    assert list(await store.all_member_defaults()) == [(OTHER_GUILD, MEMBER)]


def _job(job_id: str, **fields: object) -> JobRecord:
    return JobRecord.model_validate(
        {
            "id": job_id,
            "guild_id": GUILD,
            "channel_id": 3,
            "user_id": MEMBER,
            "request": JobRequest(prompt="a fox"),
            "resolution": Resolution.R1K,
            "width": 1024,
            "height": 1024,
            "client_reference": f"easel-{job_id}",
            **fields,
        }
    )
