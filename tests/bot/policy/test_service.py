"""The policy service: reservations, usage at the day boundary, idempotent books, reloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InputError, PolicyRefusal
from bot.jobs.models import JobCompleted, JobFailed, JobRequest, ResultImage
from bot.jobs.records import JobRecord, JobState
from bot.options import OutputFormat, Resolution
from bot.policy.models import JobContext
from bot.policy.records import AuditEntry
from bot.policy.rules import Rule
from bot.policy.service import PolicyService
from bot.store.database import MEMORY, Database
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

GUILD, CHANNEL, USER, OTHER = 10, 20, 30, 31
TOKYO = ZoneInfo("Asia/Tokyo")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = at.timestamp()


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    async with Database.open(MEMORY) as db:
        yield db


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 8, 5, 12, 0, tzinfo=TOKYO))


@pytest.fixture
async def policy(database: Database, clock: Clock) -> PolicyService:
    return await PolicyService.load(SqlPolicyStore(database), clock=clock)


def ctx(**changes: Any) -> JobContext:
    base: dict[str, Any] = {"guild_id": GUILD, "channel_id": CHANNEL, "user_id": USER}
    return JobContext(**{**base, **changes})


def job(job_id: str, *, n: int = 1, user: int = USER, created_at: float = 0.0) -> JobRecord:
    return JobRecord(
        id=job_id,
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=user,
        request=JobRequest(prompt="a fox", n=n),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
        client_reference=f"easel-{job_id}",
        created_at=created_at or 1.0,
    )


def completed(images: int) -> JobCompleted:
    image = ResultImage(
        filename="a.png", data=b"", width=1, height=1, output_format=OutputFormat.PNG
    )
    return JobCompleted(task_id="t", images=(image,) * images, elapsed=1.0)


def refused_upstream() -> JobFailed:
    return JobFailed(reason="The image service's safety system refused this.", failure="refusal")


async def test_reservations_stop_concurrent_jobs_from_overrunning_a_quota(
    policy: PolicyService,
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=5)
    policy.check(ctx(n=2), job_id="a")
    policy.check(ctx(n=2), job_id="b")
    with pytest.raises(PolicyRefusal) as refused:
        policy.check(ctx(n=2), job_id="c")
    assert refused.value.rule == Rule.MEMBER_QUOTA
    assert "`n:1`" in refused.value.user_message
    policy.check(ctx(n=1), job_id="d")
    assert policy.status(GUILD, USER).pending == 5


async def test_a_released_reservation_frees_the_images_and_the_cooldown(
    policy: PolicyService,
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=2, cooldown_seconds=60)
    policy.check(ctx(n=2), job_id="a")
    policy.release("a")
    policy.check(ctx(n=2), job_id="b")  # neither the quota nor the cooldown holds "a" against us


async def test_only_delivered_images_count_and_safety_refusals_cost_nothing(
    policy: PolicyService,
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=3)
    policy.check(ctx(n=2), job_id="a")
    policy.check(ctx(n=1), job_id="b")
    await policy.job_finished(job("a", n=2), completed(2))
    await policy.job_finished(job("b"), refused_upstream())
    status = policy.status(GUILD, USER)
    assert (status.used, status.pending, status.left) == (2, 0, 1)
    policy.check(ctx(n=1), job_id="c")


async def test_a_finish_hook_that_runs_twice_counts_once(
    policy: PolicyService, database: Database
) -> None:
    entries: list[AuditEntry] = []
    policy.subscribe(lambda entry, _: entries.append(entry))
    policy.check(ctx(n=2), job_id="a")
    await policy.job_finished(job("a", n=2), completed(2))
    await policy.job_finished(job("a", n=2), completed(2))
    assert policy.status(GUILD, USER).used == 2
    assert [e.event for e in entries] == ["completed"]
    rows = await database.fetch_all("SELECT * FROM usage")
    assert len(rows) == 1


async def test_the_quota_resets_at_midnight_in_the_servers_timezone(
    policy: PolicyService, clock: Clock
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=1, timezone="Asia/Tokyo")
    clock.set(datetime(2026, 8, 5, 23, 59, tzinfo=TOKYO))  # 14:59 UTC: still the 5th in Tokyo
    policy.check(ctx(), job_id="a")
    await policy.job_finished(job("a"), completed(1))
    with pytest.raises(PolicyRefusal) as refused:
        policy.check(ctx(), job_id="b")
    midnight = int(datetime(2026, 8, 6, 0, 0, tzinfo=TOKYO).timestamp())
    assert f"<t:{midnight}:R>" in refused.value.user_message
    clock.set(datetime(2026, 8, 6, 0, 0, tzinfo=TOKYO))  # 15:00 UTC: a new day in Tokyo
    policy.check(ctx(), job_id="b")


async def test_a_job_running_across_midnight_counts_on_the_day_it_was_accepted(
    policy: PolicyService, clock: Clock
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=1, timezone="Asia/Tokyo")
    clock.set(datetime(2026, 8, 5, 23, 59, tzinfo=TOKYO))
    policy.check(ctx(), job_id="a")
    clock.set(datetime(2026, 8, 6, 0, 1, tzinfo=TOKYO))
    await policy.job_finished(job("a"), completed(1))
    assert policy.status(GUILD, USER).used == 0  # yesterday's image
    policy.check(ctx(), job_id="b")


async def test_usage_running_jobs_settings_and_terms_survive_a_restart(
    policy: PolicyService, database: Database, clock: Clock
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=3, cooldown_seconds=30)
    assert await policy.add_term(GUILD, "Spooky", by=1)
    policy.check(ctx(), job_id="done")
    await policy.job_finished(job("done"), completed(1))
    jobs = SqlJobStore(database)
    running = job("running", n=1, created_at=clock.now)
    running.state = JobState.SUBMITTED
    await jobs.add(running)
    delivered = job("done", created_at=clock.now)
    delivered.state = JobState.DELIVERED
    await jobs.add(delivered)

    again = await PolicyService.load(SqlPolicyStore(database), clock=clock)

    status = again.status(GUILD, USER)
    assert (status.used, status.pending, status.left) == (1, 1, 1)
    assert again.terms(GUILD) == ("Spooky",)
    assert again.settings(GUILD).member_daily_images == 3
    with pytest.raises(PolicyRefusal) as refused:
        again.check(ctx(prompt="so sp0oky"), job_id="x")
    assert refused.value.rule == Rule.BLOCKED_TERM
    with pytest.raises(PolicyRefusal) as refused:
        again.check(ctx(), job_id="y")
    assert refused.value.rule == Rule.COOLDOWN


async def test_terms_are_stored_once_per_spelling_and_removed_by_any_spelling(
    policy: PolicyService,
) -> None:
    assert await policy.add_term(GUILD, "Bäd Word", by=1)
    assert not await policy.add_term(GUILD, "bad  word", by=1)
    with pytest.raises(InputError, match="two letters"):
        await policy.add_term(GUILD, "!", by=1)
    assert await policy.remove_term(GUILD, "BAD WORD", by=1)
    assert policy.terms(GUILD) == ()
    assert not await policy.remove_term(GUILD, "bad word", by=1)


async def test_settings_changes_are_validated_and_audited(policy: PolicyService) -> None:
    entries: list[AuditEntry] = []
    policy.subscribe(lambda entry, _: entries.append(entry))
    with pytest.raises(InputError, match=r"^Unknown timezone Nowhere/Land; use an IANA name"):
        await policy.update(GUILD, by=1, timezone="Nowhere/Land")
    await policy.update(GUILD, by=1, max_n=2)
    await policy.update(GUILD, by=1, max_n=2)  # no change, no entry
    assert [(e.event, e.user_id) for e in entries] == [("settings", 1)]
    assert entries[0].detail == "`max_n`: 10 → 2"


async def test_refusals_are_logged_with_the_matched_term_for_admins(
    policy: PolicyService, database: Database
) -> None:
    await policy.add_term(GUILD, "spooky", by=1)
    context = ctx(prompt="a spoooky house")
    with pytest.raises(PolicyRefusal) as refused:
        policy.check(context, job_id="a")
    await policy.refused(context, refused.value)
    counts = await policy.store.event_counts(GUILD, policy.today(GUILD))
    assert [(c.event, c.rule, c.count) for c in counts] == [("refused", "blocked_term", 1)]
    entry = (await policy.store.audit_entries(GUILD, limit=1))[0]
    assert entry.detail == "matched blocked term: spooky" and entry.prompt == "a spoooky house"


async def test_a_preview_refuses_like_check_but_reserves_nothing(policy: PolicyService) -> None:
    await policy.update(GUILD, by=1, member_daily_images=1, cooldown_seconds=60)
    assert policy.preview(ctx()) is None
    assert policy.preview(ctx()) is None  # nothing reserved, no cooldown started
    refusal = policy.preview(ctx(n=2))
    assert refusal is not None and refusal.rule == Rule.MEMBER_QUOTA
    policy.check(ctx(), job_id="a")
    refusal = policy.preview(ctx())
    assert refusal is not None and refusal.rule == Rule.COOLDOWN


async def test_admit_records_a_refusal_before_raising_it_and_reserves_on_success(
    policy: PolicyService,
) -> None:
    await policy.update(GUILD, by=1, member_daily_images=1)
    with pytest.raises(PolicyRefusal) as refused:
        await policy.admit(ctx(n=2), job_id="a")
    assert refused.value.rule == Rule.MEMBER_QUOTA
    counts = await policy.store.event_counts(GUILD, policy.today(GUILD))
    assert [(c.event, c.rule) for c in counts] == [("refused", "member_quota")]
    reservation = await policy.admit(ctx(), job_id="b")
    assert reservation.job_id == "b" and policy.status(GUILD, USER).pending == 1


async def test_vet_records_and_raises_a_refusal_but_never_reserves(policy: PolicyService) -> None:
    await policy.update(GUILD, by=1, max_n=1)
    await policy.vet(ctx())
    assert policy.status(GUILD, USER).pending == 0
    with pytest.raises(PolicyRefusal):
        await policy.vet(ctx(n=2))
    counts = await policy.store.event_counts(GUILD, policy.today(GUILD))
    assert [(c.event, c.rule) for c in counts] == [("refused", "max_images")]


async def test_a_refused_reuse_is_logged_with_the_jobs_prompt_for_the_moderators(
    policy: PolicyService,
) -> None:
    await policy.update(GUILD, by=1, banned_members={OTHER})
    with pytest.raises(PolicyRefusal) as refused:
        await policy.vet_reuse(ctx(user_id=OTHER), job("j1"), made_in_nsfw=False)
    assert refused.value.rule == Rule.BANNED
    entry = (await policy.store.audit_entries(GUILD, limit=1))[0]
    assert (entry.event, entry.rule, entry.user_id, entry.prompt) == (
        "refused",
        Rule.BANNED,
        OTHER,
        "a fox",
    )


async def test_a_reuse_refused_for_the_job_itself_is_not_logged(policy: PolicyService) -> None:
    elsewhere = job("j2").model_copy(update={"guild_id": GUILD + 1})
    with pytest.raises(PolicyRefusal) as refused:
        await policy.vet_reuse(ctx(user_id=OTHER), elsewhere, made_in_nsfw=False)
    assert refused.value.rule == Rule.NO_JOB
    assert await policy.store.audit_entries(GUILD, limit=5) == []
    assert policy.reuse_refusal(ctx(), job("j3")) is None
