"""Job records and the repository that keeps them.

A job row is written before every irreversible step (submit, delivery), so after a crash the
engine knows exactly where each accepted job stood and resumes it.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bot.jobs.models import FailureKind, JobRequest
from bot.options import OutputFormat, Resolution
from bot.store.database import Database

Origin = Literal["discord", "cli"]
JobAction = Literal["reroll", "vary", "upscale", "edit"]


class JobState(StrEnum):
    """Where a job stands. Only ``submitting`` is ambiguous after a crash (see the engine)."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DOWNLOADED = "downloaded"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """No more upstream work: only telling the member may remain."""
        return self in {JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED}


class StoredFile(BaseModel):
    """A file kept on disk for a job: an input reference or a fitted result."""

    model_config = ConfigDict(frozen=True)

    path: str  # relative to the file store's root
    filename: str
    content_type: str
    width: int = 0
    height: int = 0
    output_format: OutputFormat | None = None
    note: str | None = None


class Delivery(BaseModel):
    """Where a job's messages go, and with which credentials while they last."""

    model_config = ConfigDict(frozen=True)

    application_id: int
    interaction_token: SecretStr | None = None  # dead after 15 minutes; erased once delivered
    token_expires_at: float = 0.0  # unix seconds
    message_id: int | None = None


class JobRecord(BaseModel):
    """One accepted job, as persisted."""

    model_config = ConfigDict(validate_assignment=True)

    id: str
    origin: Origin = "discord"
    kind: str = "imagine"
    state: JobState = JobState.QUEUED
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None
    request: JobRequest  # references carry no bytes here: they are in ``inputs``
    resolution: Resolution
    width: int
    height: int
    inputs: list[StoredFile] = Field(default_factory=list)
    client_reference: str
    provider: str | None = None  # the image API that took the task (failover may change it)
    task_id: str | None = None
    progress: int = 0
    size_limit: int | None = None
    delivery: Delivery | None = None
    results: list[StoredFile] = Field(default_factory=list)
    failure_kind: FailureKind | None = None
    failure_reason: str | None = None
    notified: bool = False
    parent_id: str | None = None
    action: JobAction | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    submitted_at: float | None = None
    finished_at: float | None = None

    def reference_files(self) -> list[StoredFile]:
        """The stored input images, without an edit's mask (``Engine.accept`` stores it last)."""
        return self.inputs[: len(self.request.references)]

    def mask_file(self) -> StoredFile | None:
        """An edit's stored mask, or None when the job had no mask."""
        count = len(self.request.references)
        if self.request.mask is None or len(self.inputs) <= count:
            return None
        return self.inputs[count]


class JobStore(Protocol):
    """What the engine needs from persistence (SQLite now, PostgreSQL later)."""

    async def add(self, job: JobRecord) -> None:
        """Insert a new job."""
        ...

    async def save(self, job: JobRecord) -> None:
        """Write the job's current fields."""
        ...

    async def get(self, job_id: str) -> JobRecord | None:
        """One job by id."""
        ...

    async def unfinished(self, origin: Origin) -> list[JobRecord]:
        """Jobs that still need upstream work or a message to the member, oldest first."""
        ...

    async def recent_for_user(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 10
    ) -> list[JobRecord]:
        """A member's latest jobs, newest first."""
        ...

    async def with_files_finished_before(self, cutoff: float, *, limit: int) -> list[JobRecord]:
        """Told jobs finished before ``cutoff`` (unix seconds) that still have stored files."""
        ...


_COLUMNS = (
    "id", "origin", "kind", "state", "guild_id", "channel_id", "user_id", "request",
    "resolution", "width", "height", "inputs", "client_reference", "task_id", "progress",
    "size_limit", "delivery", "results", "failure_kind", "failure_reason", "notified",
    "parent_id", "action", "provider",
    "created_at", "updated_at", "submitted_at", "finished_at",
)  # fmt: skip
_JSON_COLUMNS = {"request", "inputs", "delivery", "results"}


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
            data[column] = json.loads(data[column])
    data["notified"] = bool(data["notified"])
    return JobRecord.model_validate(data)


class SqliteJobStore:
    """``JobStore`` on the SQLite database."""

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
