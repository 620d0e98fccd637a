"""The policy store: settings, blocked terms, usage, the audit log and reports, on both backends."""

from __future__ import annotations

import pytest

from bot.jobs.models import JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.options import Resolution
from bot.policy.models import GuildSettings
from bot.policy.records import AuditEntry
from bot.store.database import Database
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

GUILD = 1_234_567_890_123_456_789  # a real snowflake: 64 bits


@pytest.fixture
def store(database: Database) -> SqlPolicyStore:
    return SqlPolicyStore(database)


async def test_settings_are_saved_replaced_and_read_back(store: SqlPolicyStore) -> None:
    await store.save_settings(GUILD, GuildSettings(member_daily_images=5), by=7)
    await store.save_settings(GUILD, GuildSettings(member_daily_images=9, spoilers=True), by=7)
    assert await store.all_settings() == {
        GUILD: GuildSettings(member_daily_images=9, spoilers=True)
    }


async def test_a_term_is_blocked_once_per_spelling_and_removed(store: SqlPolicyStore) -> None:
    assert await store.add_term(GUILD, "Foo Bar", "foo bar", by=7)
    assert not await store.add_term(GUILD, "FOO bar", "foo bar", by=8)
    assert await store.add_term(GUILD, "baz", "baz", by=None)
    assert await store.all_terms() == {GUILD: ["Foo Bar", "baz"]}
    assert await store.remove_term(GUILD, "foo bar")
    assert not await store.remove_term(GUILD, "foo bar")
    assert await store.all_terms() == {GUILD: ["baz"]}


async def test_usage_is_counted_once_per_job(store: SqlPolicyStore) -> None:
    assert await store.record_usage("j1", GUILD, 7, "2026-05-01", 2)
    assert not await store.record_usage("j1", GUILD, 7, "2026-05-01", 2)  # a hook that ran twice
    assert await store.record_usage("j2", GUILD, 7, "2026-05-02", 1)
    assert await store.record_usage("j3", GUILD, 8, "2026-05-02", 4)
    assert sorted(await store.usage_since("2026-05-02")) == [
        (GUILD, "2026-05-02", 7, 1),
        (GUILD, "2026-05-02", 8, 4),
    ]


async def test_reports_add_up_per_day_and_per_member(store: SqlPolicyStore) -> None:
    for job, user, day, images in (
        ("a", 7, "05-01", 2),
        ("b", 7, "05-02", 1),
        ("c", 8, "05-02", 4),
    ):
        await store.record_usage(job, GUILD, user, f"2026-{day}", images)
    days = await store.usage_by_day(GUILD, "2026-05-01")
    assert [(d.day, d.images, d.jobs) for d in days] == [("2026-05-02", 5, 2), ("2026-05-01", 2, 1)]
    mine = await store.usage_by_day(GUILD, "2026-05-01", user_id=7)
    assert [(d.day, d.images) for d in mine] == [("2026-05-02", 1), ("2026-05-01", 2)]
    members = await store.usage_by_member(GUILD, "2026-05-01")
    assert [(m.user_id, m.images, m.jobs) for m in members] == [(8, 4, 1), (7, 3, 2)]


async def test_the_audit_log_keeps_one_outcome_per_job_and_counts_refusals(
    store: SqlPolicyStore,
) -> None:
    day = "2026-05-01"
    entry = AuditEntry(guild_id=GUILD, event="failed", day=day, at=1.0, job_id="j1", rule="x")
    assert await store.add_audit(entry)
    assert not await store.add_audit(entry)  # a finish hook that ran again after a restart
    for at, user in ((2.0, 7), (3.0, 7), (4.0, 8)):
        refused = AuditEntry(
            guild_id=GUILD, event="refused", day=day, at=at, user_id=user, rule="member_quota"
        )
        assert await store.add_audit(refused)  # refusals have no job: each one counts
    counts = await store.event_counts(GUILD, day)
    assert [(c.event, c.rule, c.count) for c in counts] == [
        ("refused", "member_quota", 3),
        ("failed", "x", 1),
    ]
    mine = await store.event_counts(GUILD, day, user_id=8)
    assert [(c.event, c.count) for c in mine] == [("refused", 1)]
    latest = await store.audit_entries(GUILD, limit=2)
    assert [(e.event, e.at, e.user_id) for e in latest] == [
        ("refused", 4.0, 8),
        ("refused", 3.0, 7),
    ]


async def test_unfinished_jobs_hold_their_images_and_recent_ones_start_cooldowns(
    store: SqlPolicyStore, database: Database
) -> None:
    jobs = SqlJobStore(database)
    for job_id, state, n, at in (("run", "submitted", 3, 10.0), ("done", "delivered", 2, 20.0)):
        await jobs.add(
            JobRecord(
                id=job_id,
                state=JobState(state),
                guild_id=GUILD,
                user_id=7,
                request=JobRequest(prompt="fox", n=n),
                resolution=Resolution.R1K,
                width=1024,
                height=1024,
                client_reference=f"easel-{job_id}",
                created_at=at,
            )
        )
    pending = await store.pending_jobs()
    assert [(p.job_id, p.guild_id, p.user_id, p.n) for p in pending] == [("run", GUILD, 7, 3)]
    assert await store.last_jobs_since(15.0) == [(GUILD, 7, 20.0)]
