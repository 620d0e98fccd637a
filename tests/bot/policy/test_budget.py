"""Budgets in money: a job whose estimate would go over is refused before any spend, saying
what is left and when it resets; holds stop concurrent jobs overshooting; books survive restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import PolicyRefusal
from bot.jobs.models import JobCompleted, JobFailed, JobRequest, ResultImage
from bot.jobs.records import JobRecord, JobState
from bot.options import OutputFormat, Resolution
from bot.policy.budget import Budget, Spending, Spent, next_month_start
from bot.policy.budget_rules import check_budget
from bot.policy.models import GuildSettings, JobContext
from bot.policy.rules import Rule
from bot.policy.service import PolicyService
from bot.policy.spending import Budgets
from bot.providers.prices import UNKNOWN
from bot.store.database import MEMORY, Database
from bot.store.jobs import SqliteJobStore
from bot.store.policy import SqlitePolicyStore

GUILD, CHANNEL, USER, OTHER = 10, 20, 30, 31
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 8, 20, 12, 0, tzinfo=PARIS).timestamp()
FOUR_CENTS = Decimal("0.04")


def ctx(cost: Any = FOUR_CENTS, *, n: int = 1, user: int = USER, **changes: Any) -> JobContext:
    image_cost = changes.pop("image_cost", FOUR_CENTS if cost != UNKNOWN else UNKNOWN)
    return JobContext(
        guild_id=GUILD, channel_id=CHANNEL, user_id=user, n=n, cost=cost,
        image_cost=image_cost, **changes,
    )  # fmt: skip


def spent(**parts: tuple[str, str]) -> Spending:
    return Spending(
        **{who: Spent(Decimal(day), Decimal(month)) for who, (day, month) in parts.items()}
    )


def refusal(settings: GuildSettings, job: JobContext, spending: Spending, **kw: Any) -> str:
    with pytest.raises(PolicyRefusal) as refused:
        check_budget(
            settings, job, spending, host=kw.get("host", Budget()), currency="USD", now=NOW
        )
    return f"{refused.value.rule}|{refused.value.user_message}"


PARIS_SERVER = GuildSettings(timezone="Europe/Paris", server_budget=Budget(monthly=Decimal("0.10")))


def test_a_job_over_the_servers_monthly_budget_says_what_is_left_and_when_it_resets() -> None:
    text = refusal(PARIS_SERVER, ctx(), spent(server=("0", "0.08")))
    september = int(datetime(2026, 9, 1, tzinfo=PARIS).timestamp())
    assert text.startswith(f"{Rule.SERVER_BUDGET}|**Server budget.**")
    assert "0.02 USD left of its monthly budget of 0.10 USD" in text
    assert "would cost about 0.04 USD" in text
    assert f"<t:{september}:R> (Tue, Sep 1, 00:00 Europe/Paris)" in text


def test_a_job_that_fits_exactly_passes() -> None:
    check_budget(
        PARIS_SERVER, ctx(), spent(server=("0", "0.06")), host=Budget(), currency="USD", now=NOW
    )


def test_the_members_own_budget_is_checked_first_and_suggests_a_smaller_n() -> None:
    settings = PARIS_SERVER.model_copy(update={"member_budget": Budget(daily=Decimal("0.10"))})
    text = refusal(settings, ctx(Decimal("0.12"), n=3), spent(member=("0.02", "0.02")))
    assert text.startswith(f"{Rule.MEMBER_BUDGET}|**Your budget.** You have 0.08 USD left")
    assert "Ask for `n:2`" in text
    tomorrow = int(datetime(2026, 8, 21, tzinfo=PARIS).timestamp())
    assert f"<t:{tomorrow}:R> (Fri, Aug 21, 00:00 Europe/Paris)" in text


def test_a_member_with_a_budget_of_their_own_is_held_to_it() -> None:
    settings = GuildSettings(
        member_budget=Budget(monthly=Decimal("5")),
        member_budgets={OTHER: Budget(monthly=Decimal("0.01"))},
    )
    check_budget(settings, ctx(), spent(), host=Budget(), currency="USD", now=NOW)
    assert refusal(settings, ctx(user=OTHER), spent()).startswith(Rule.MEMBER_BUDGET)


def test_the_hosts_budget_covers_every_server_in_utc() -> None:
    host = Budget(monthly=Decimal("100"))
    text = refusal(GuildSettings(), ctx(), spent(host=("0", "99.99")), host=host)
    assert text.startswith(f"{Rule.HOST_BUDGET}|**Easel's overall budget.**")
    assert "for all servers" in text and "00:00 UTC" in text


def test_a_job_of_unknown_price_is_refused_only_where_a_budget_applies() -> None:
    assert refusal(PARIS_SERVER, ctx(UNKNOWN), spent()).startswith(Rule.PRICE_UNKNOWN)
    check_budget(GuildSettings(), ctx(UNKNOWN), spent(), host=Budget(), currency="USD", now=NOW)


def test_months_reset_at_the_first_in_the_servers_timezone_across_the_year() -> None:
    december = datetime(2026, 12, 31, 23, 30, tzinfo=PARIS).timestamp()
    assert next_month_start(december, PARIS) == int(datetime(2027, 1, 1, tzinfo=PARIS).timestamp())
    # 23:30 UTC on 31 March is already April in Paris (summer time): May is next.
    spring = datetime(2026, 3, 31, 23, 30, tzinfo=UTC).timestamp()
    assert next_month_start(spring, PARIS) == int(datetime(2026, 5, 1, tzinfo=PARIS).timestamp())


# ---------------------------------------------------------------------------- the service


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    async with Database.open(MEMORY) as db:
        yield db


async def service(database: Database, clock: Clock, **host: Any) -> PolicyService:
    store = SqlitePolicyStore(database)
    budgets = Budgets(store, host=Budget(**host), currency="USD")
    return await PolicyService.load(store, clock=clock, budgets=budgets)


@pytest.fixture
async def policy(database: Database) -> PolicyService:
    policy = await service(database, Clock())
    await policy.update(
        GUILD, by=1, timezone="Europe/Paris", server_budget=Budget(monthly=Decimal("0.10"))
    )
    return policy


def job(job_id: str, *, cost: Any, n: int = 1, state: JobState = JobState.DELIVERED) -> JobRecord:
    return JobRecord(
        id=job_id, guild_id=GUILD, channel_id=CHANNEL, user_id=USER,
        request=JobRequest(prompt="a fox", n=n), resolution=Resolution.R1K, width=1024,
        height=1024, client_reference=f"easel-{job_id}", created_at=NOW, state=state,
        currency="USD", estimated_cost=FOUR_CENTS * n, cost=cost,
    )  # fmt: skip


def completed(images: int) -> JobCompleted:
    image = ResultImage(
        filename="a.png", data=b"", width=1, height=1, output_format=OutputFormat.PNG
    )
    return JobCompleted(task_id="t", images=(image,) * images, elapsed=1.0)


async def test_holds_stop_concurrent_jobs_from_overshooting_the_budget(
    policy: PolicyService,
) -> None:
    policy.check(ctx(), job_id="a")
    policy.check(ctx(), job_id="b")
    with pytest.raises(PolicyRefusal) as refused:
        policy.check(ctx(), job_id="c")  # 0.08 held, 0.02 left
    assert refused.value.rule == Rule.SERVER_BUDGET
    policy.release("b")  # not accepted after all: its hold goes
    policy.check(ctx(), job_id="d")


async def test_a_job_that_costs_nothing_in_the_end_gives_its_hold_back(
    policy: PolicyService, database: Database
) -> None:
    policy.check(ctx(), job_id="a")
    policy.check(ctx(), job_id="b")
    failed = JobFailed(reason="refused upstream", failure="refusal")
    await policy.job_finished(job("a", cost=Decimal(0), state=JobState.FAILED), failed)
    await policy.job_finished(job("b", cost=FOUR_CENTS), completed(1))
    policy.check(ctx(), job_id="c")  # 0.04 spent + 0.04 held: 0.02 left
    with pytest.raises(PolicyRefusal):
        policy.check(ctx(), job_id="d")
    rows = await database.fetch_all("SELECT job_id, cost, images FROM spending")
    assert [tuple(r) for r in rows] == [("b", "0.04", 1)]


async def test_the_books_count_a_job_once_and_survive_a_restart(
    policy: PolicyService, database: Database
) -> None:
    policy.check(ctx(), job_id="a")
    await policy.job_finished(job("a", cost=FOUR_CENTS), completed(1))
    await policy.job_finished(job("a", cost=FOUR_CENTS), completed(1))  # told again
    running = job("b", cost=None, state=JobState.SUBMITTED)
    await SqliteJobStore(database).add(running)  # accepted, still running: its estimate is held
    again = await service(database, Clock())
    day = again.today(GUILD)
    assert again.budgets.spending(GUILD, USER, day, NOW).server == Spent(
        Decimal("0.08"), Decimal("0.08")
    )
    with pytest.raises(PolicyRefusal):
        again.check(ctx(), job_id="c")


async def test_the_hosts_budget_holds_across_servers(database: Database) -> None:
    policy = await service(database, Clock(), daily=Decimal("0.05"))
    policy.check(ctx(), job_id="a")
    with pytest.raises(PolicyRefusal) as refused:
        policy.check(ctx().model_copy(update={"guild_id": GUILD + 1}), job_id="b")
    assert refused.value.rule == Rule.HOST_BUDGET


async def test_an_unknown_cost_is_booked_as_unknown_never_as_zero(
    database: Database,
) -> None:
    policy = await service(database, Clock())
    policy.check(ctx(UNKNOWN), job_id="a")
    await policy.job_finished(job("a", cost=UNKNOWN), completed(1))
    rows = await database.fetch_all("SELECT cost, images FROM spending")
    assert [tuple(r) for r in rows] == [(None, 1)]
    (row,) = await SqlitePolicyStore(database).job_spend(GUILD, "2026-08-01")
    assert (row.images, row.cost) == (1, None)
