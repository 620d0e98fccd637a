"""``JobStore`` on SQL (SQLite or PostgreSQL): job records kept as rows, nested parts as JSON.

The records and the protocol belong to ``bot.jobs``; this module only implements them. Leases
(who works on which job) are in ``bot.store.leases``.
"""

from __future__ import annotations

import time

from bot.jobs.ports import LeaseLostError
from bot.jobs.records import JobRecord, Origin
from bot.policy.acceptance import Acceptance
from bot.store.batch import group_commit
from bot.store.database import Database
from bot.store.job_rows import COLUMNS, SELECT_JOB, job_from_row, to_row
from bot.store.leases import SqlLeases


class SqlJobStore(SqlLeases):
    """``bot.jobs.ports.JobStore`` on a SQLite or PostgreSQL database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def shared(self) -> bool:
        """Whether other processes may work on the same jobs (PostgreSQL)."""
        return self.database.shared

    async def add(self, job: JobRecord, *, lease: float = 0.0) -> None:
        """Insert a new job, leased to ``job.owner`` for ``lease`` seconds ('' : nobody); jobs
        added together share one transaction (``bot.store.batch``)."""
        await group_commit(self.database).accept(Acceptance(job=job, lease=lease))

    async def save(self, job: JobRecord) -> None:
        """Write every field of the job, if ``job.owner`` still holds its lease.

        Rows are small and one statement keeps it atomic. The condition on the owner fences off
        a process that stalled past its lease while another took the job over.
        """
        job.updated_at = time.time()
        assignments = ", ".join(f"{column} = ?" for column in COLUMNS[1:])
        row = to_row(job)
        changed = await self.database.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ? AND lease_owner = ?",  # noqa: S608 - fixed column names
            (*row[1:], row[0], job.owner),
        )
        if changed == 0:
            raise LeaseLostError(f"job {job.id} is no longer leased to {job.owner or 'nobody'}")

    async def get(self, job_id: str) -> JobRecord | None:
        """One job by id (or by a unique prefix of at least 8 characters, as shown to members)."""
        row = await self.database.fetch_one(f"{SELECT_JOB} WHERE id = ?", (job_id,))
        if row is None and len(job_id) >= 8 and job_id.isalnum():
            rows = await self.database.fetch_all(
                f"{SELECT_JOB} WHERE id LIKE ? ORDER BY id LIMIT 2", (f"{job_id}%",)
            )
            row = rows[0] if len(rows) == 1 else None
        return job_from_row(row) if row is not None else None

    async def unfinished(self, origin: Origin) -> list[JobRecord]:
        """Jobs that still need upstream work or a message to the member, oldest first."""
        rows = await self.database.fetch_all(
            f"{SELECT_JOB} WHERE origin = ? AND notified = 0 ORDER BY created_at, id", (origin,)
        )
        return [job_from_row(row) for row in rows]

    async def recent_for_user(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 10
    ) -> list[JobRecord]:
        """A member's latest jobs, newest first (in one server when ``guild_id`` is given)."""
        if guild_id is None:
            rows = await self.database.fetch_all(
                f"{SELECT_JOB} WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?",
                (user_id, limit),
            )
        else:
            rows = await self.database.fetch_all(
                f"{SELECT_JOB} WHERE user_id = ? AND guild_id = ? "
                "ORDER BY created_at DESC, id LIMIT ?",
                (user_id, guild_id, limit),
            )
        return [job_from_row(row) for row in rows]

    async def with_files_finished_before(self, cutoff: float, *, limit: int) -> list[JobRecord]:
        """Told jobs finished before ``cutoff`` (unix seconds) that still have stored files."""
        rows = await self.database.fetch_all(
            f"{SELECT_JOB} WHERE notified = 1 AND finished_at < ? "
            "AND (results != '[]' OR inputs != '[]') ORDER BY finished_at LIMIT ?",
            (cutoff, limit),
        )
        return [job_from_row(row) for row in rows]


SqliteJobStore = SqlJobStore  # the name before PostgreSQL; kept for callers not yet renamed
