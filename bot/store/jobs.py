"""``JobStore`` on SQLite: job records kept as rows, their nested parts as JSON columns.

The records and the protocol belong to ``bot.jobs``; this module only implements them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.jobs.records import JobRecord, Origin
from bot.store.database import Database

_COLUMNS = (
    "id", "origin", "kind", "state", "guild_id", "channel_id", "user_id", "request",
    "resolution", "width", "height", "inputs", "client_reference", "task_id", "progress",
    "size_limit", "delivery", "results", "failure_kind", "failure_reason", "notified",
    "parent_id", "action", "provider", "locale",
    "created_at", "updated_at", "submitted_at", "finished_at",
    "defaults", "currency", "estimated_cost", "cost",
)  # fmt: skip
_JSON_COLUMNS = {"request", "inputs", "delivery", "results", "defaults", "failure_reason"}


def _to_row(job: JobRecord) -> tuple[Any, ...]:
    # Image bytes live in the file store; the row keeps only the references' names.
    stripped = tuple(ref.model_copy(update={"data": b""}) for ref in job.request.references)
    data = job.model_copy(
        update={"request": job.request.model_copy(update={"references": stripped})}
    ).model_dump(mode="json")
    if job.delivery is not None and job.delivery.interaction_token is not None:
        data["delivery"]["interaction_token"] = job.delivery.interaction_token.get_secret_value()
    return tuple(
        json.dumps(data[column]) if column in _JSON_COLUMNS and data[column] is not None
        else data[column]
        for column in _COLUMNS
    )  # fmt: skip


def _from_row(row: Any) -> JobRecord:
    data = {column: row[column] for column in _COLUMNS}
    for column in _JSON_COLUMNS:
        if data[column] is not None:
            data[column] = _json_or_plain(data[column])
    data["notified"] = bool(data["notified"])
    return JobRecord.model_validate(data)


def _json_or_plain(value: str) -> Any:
    """A JSON column's value; a failure reason stored as plain text before it was a ``Text``."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class SqliteJobStore:
    """``bot.jobs.ports.JobStore`` on the SQLite database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, job: JobRecord) -> None:
        """Insert a new job."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        await self.database.execute(
            f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - fixed column names
            _to_row(job),
        )

    async def save(self, job: JobRecord) -> None:
        """Write every field of the job (rows are small; one statement keeps it atomic)."""
        job.updated_at = time.time()
        assignments = ", ".join(f"{column} = ?" for column in _COLUMNS[1:])
        row = _to_row(job)
        await self.database.execute(
            f"UPDATE jobs SET {assignments} WHERE id = ?",  # noqa: S608 - fixed column names
            (*row[1:], row[0]),
        )

    async def get(self, job_id: str) -> JobRecord | None:
        """One job by id (or by a unique prefix of at least 8 characters, as shown to members)."""
        row = await self.database.fetch_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None and len(job_id) >= 8:
            rows = await self.database.fetch_all(
                "SELECT * FROM jobs WHERE id LIKE ? LIMIT 2", (f"{job_id}%",)
            )
            row = rows[0] if len(rows) == 1 else None
        return _from_row(row) if row is not None else None

    async def unfinished(self, origin: Origin) -> list[JobRecord]:
        """Jobs that still need upstream work or a message to the member, oldest first."""
        rows = await self.database.fetch_all(
            "SELECT * FROM jobs WHERE origin = ? AND notified = 0 ORDER BY created_at",
            (origin,),
        )
        return [_from_row(row) for row in rows]

    async def recent_for_user(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 10
    ) -> list[JobRecord]:
        """A member's latest jobs, newest first (in one server when ``guild_id`` is given)."""
        if guild_id is None:
            rows = await self.database.fetch_all(
                "SELECT * FROM jobs WHERE user_id = ? ORDER BY created_at DESC LIMIT ?",
                (user_id, limit),
            )
        else:
            rows = await self.database.fetch_all(
                "SELECT * FROM jobs WHERE user_id = ? AND guild_id = ? "
                "ORDER BY created_at DESC LIMIT ?",
                (user_id, guild_id, limit),
            )
        return [_from_row(row) for row in rows]

    async def with_files_finished_before(self, cutoff: float, *, limit: int) -> list[JobRecord]:
        """Told jobs finished before ``cutoff`` (unix seconds) that still have stored files."""
        rows = await self.database.fetch_all(
            "SELECT * FROM jobs WHERE notified = 1 AND finished_at < ? "
            "AND (results != '[]' OR inputs != '[]') ORDER BY finished_at LIMIT ?",
            (cutoff, limit),
        )
        return [_from_row(row) for row in rows]
