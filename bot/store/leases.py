"""Who works on which job: leases on job rows, the caps shared by every process, live workers.

A lease is ``lease_owner`` plus ``lease_expires_at`` on the job's row, in the database's clock
(one clock for every machine). Every change of owner is one conditional statement: a claim only
takes a row whose lease ran out (or that nobody holds), and PostgreSQL's ``FOR UPDATE SKIP
LOCKED`` keeps two processes claiming at the same moment from taking the same row. SQLite runs
the same statements; one process at a time owns its file there.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Iterator, Sequence

from bot.jobs.ports import LeaseLostError, Worker
from bot.jobs.queue import QueueLimits
from bot.jobs.records import JobRecord, JobState, Origin
from bot.store.database import Database, Transaction
from bot.store.job_rows import COLUMNS, job_from_row

CHUNK = 500  # ids per IN (...) list, well under either backend's parameter limit
RUNNING_STATES = (JobState.UPLOADING, JobState.SUBMITTING, JobState.SUBMITTED)
WORKERS_KEPT = 3600.0  # seconds a dead worker's row is kept (visible to operators)


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    items = sorted(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


class SqlLeases:
    """The lease half of ``bot.jobs.ports.JobStore`` (mixed into ``SqlJobStore``)."""

    database: Database

    async def claim(
        self,
        owner: str,
        origins: Sequence[Origin],
        *,
        lease: float,
        limit: int,
        take_live: bool = False,
    ) -> list[JobRecord]:
        """Unfinished jobs whose lease ran out (or that nobody holds), now leased to ``owner``."""
        if not origins or limit <= 0:
            return []
        now = self.database.now
        claimable = "1 = 1" if take_live else f"(lease_owner = '' OR lease_expires_at < {now})"
        rows = await self.database.fetch_all(
            f"UPDATE jobs SET lease_owner = ?, lease_expires_at = {now} + ?, heartbeat_at = {now}"  # noqa: S608 - constants
            f" WHERE id IN (SELECT id FROM jobs WHERE notified = 0"
            f" AND origin IN ({_marks(len(origins))}) AND {claimable}"
            f" ORDER BY created_at, id LIMIT ?{self.database.skip_locked})"
            f" AND notified = 0 AND ({claimable} OR lease_owner = ?)"
            f" RETURNING {', '.join(COLUMNS)}, lease_owner",
            (owner, float(lease), *origins, limit, owner),
        )
        return sorted((job_from_row(row) for row in rows), key=lambda j: (j.created_at, j.id))

    async def renew(self, owner: str, job_ids: Collection[str], *, lease: float) -> set[str]:
        """Extend ``owner``'s leases on ``job_ids``; returns the ids it still holds.

        Only the jobs the process is working on are renewed: a job whose work stopped (the
        database was away too long) is left to expire and be claimed again.
        """
        now = self.database.now
        kept: set[str] = set()
        for chunk in _chunks(job_ids):
            rows = await self.database.fetch_all(
                f"UPDATE jobs SET lease_expires_at = {now} + ?, heartbeat_at = {now}"  # noqa: S608 - constants
                f" WHERE lease_owner = ? AND id IN ({_marks(len(chunk))}) RETURNING id",
                (float(lease), owner, *chunk),
            )
            kept.update(str(row["id"]) for row in rows)
        return kept

    async def release(self, owner: str, job_ids: Collection[str]) -> None:
        """Give up ``owner``'s leases on ``job_ids`` so another process can claim them now."""
        for chunk in _chunks(job_ids):
            await self.database.execute(
                "UPDATE jobs SET lease_owner = '', lease_expires_at = 0"  # noqa: S608 - constants
                f" WHERE lease_owner = ? AND id IN ({_marks(len(chunk))})",
                (owner, *chunk),
            )

    async def start_running(self, job: JobRecord, limits: QueueLimits) -> bool:
        """Move ``job`` from ``queued`` to ``uploading`` if no cap is full across the cluster.

        Running means uploading, submitting or submitted, by any process, dead ones included
        (their upstream tasks still run until a live process finishes them). One lock makes
        the count and the move atomic: two processes cannot both take the last slot.
        """

        async def work(tx: Transaction) -> bool:
            await tx.lock("easel:run-slots")
            states = [state.value for state in RUNNING_STATES]
            row = await tx.fetch_one(
                "SELECT COUNT(*) AS total,"  # noqa: S608 - constants
                " COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0) AS member,"
                " COALESCE(SUM(CASE WHEN COALESCE(guild_id, 0) = ? THEN 1 ELSE 0 END), 0)"
                " AS guild"
                f" FROM jobs WHERE notified = 0 AND state IN ({_marks(len(states))}) AND id != ?",
                (job.user_id, job.guild_id or 0, *states, job.id),
            )
            assert row is not None
            if (
                row["total"] >= limits.global_jobs
                or (job.user_id is not None and row["member"] >= limits.per_member)
                or row["guild"] >= limits.per_guild
            ):
                return False
            # "Already uploading" too: this transaction, retried after its commit's reply was lost.
            changed = await tx.execute(
                "UPDATE jobs SET state = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)"
                " AND lease_owner = ?",
                (
                    JobState.UPLOADING.value,
                    job.updated_at,
                    job.id,
                    JobState.QUEUED.value,
                    JobState.UPLOADING.value,
                    job.owner,
                ),
            )
            if changed == 0:
                raise LeaseLostError(f"job {job.id} is no longer queued under {job.owner}")
            return True

        if job.state is not JobState.QUEUED:
            return True
        started = await self.database.transaction(work)
        if started:
            job.state = JobState.UPLOADING
        return started

    async def beat(self, worker: Worker, *, lease: float) -> int:
        """Record that ``worker`` lives for ``lease`` more seconds; returns how many workers do."""
        now = self.database.now

        async def work(tx: Transaction) -> int:
            await tx.execute(
                "INSERT INTO workers (id, host, shards, started_at, heartbeat_at, expires_at)"  # noqa: S608 - constants
                f" VALUES (?, ?, ?, {now}, {now}, {now} + ?) ON CONFLICT (id) DO UPDATE SET"
                " heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
                (worker.id, worker.host or socket.gethostname(), worker.shards, float(lease)),
            )
            await tx.execute(
                f"DELETE FROM workers WHERE expires_at < {now} - ?",  # noqa: S608 - constants
                (WORKERS_KEPT,),
            )
            row = await tx.fetch_one(
                f"SELECT COUNT(*) AS live FROM workers WHERE expires_at >= {now}"  # noqa: S608 - constants
            )
            return int(row["live"]) if row is not None else 1

        return await self.database.transaction(work)

    async def workers(self) -> list[Worker]:
        """The live workers, oldest first (for operators and ``/status``-like reports)."""
        rows = await self.database.fetch_all(
            f"SELECT id, host, shards FROM workers WHERE expires_at >= {self.database.now}"  # noqa: S608 - constants
            " ORDER BY started_at, id"
        )
        return [Worker(id=row["id"], host=row["host"], shards=row["shards"]) for row in rows]

    async def leave(self, worker_id: str) -> None:
        """Remove a worker that stops cleanly (its share of the budget goes to the others)."""
        await self.database.execute("DELETE FROM workers WHERE id = ?", (worker_id,))
