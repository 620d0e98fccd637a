"""A job record as a table row and back: the columns, JSON for the nested parts, no image bytes."""

from __future__ import annotations

import json
from typing import Any

from bot.jobs.records import JobRecord
from bot.store.database import Row

COLUMNS = (
    "id", "origin", "kind", "state", "guild_id", "channel_id", "user_id", "request",
    "resolution", "width", "height", "inputs", "client_reference", "task_id", "progress",
    "size_limit", "delivery", "results", "failure_kind", "failure_reason", "notified",
    "parent_id", "action", "provider", "locale",
    "created_at", "updated_at", "submitted_at", "finished_at",
    "defaults", "currency", "estimated_cost", "cost",
)  # fmt: skip
JSON_COLUMNS = {"request", "inputs", "delivery", "results", "defaults", "failure_reason"}
# Columns with the lease, read with every job; written only by adding, claiming and releasing.
SELECT_JOB = f"SELECT {', '.join(COLUMNS)}, lease_owner FROM jobs"  # noqa: S608 - constants


def to_row(job: JobRecord) -> tuple[Any, ...]:
    """The values of ``COLUMNS`` for ``job`` (the token in clear: the row is private)."""
    # Image bytes live in the file store; the row keeps only the references' names.
    stripped = tuple(ref.model_copy(update={"data": b""}) for ref in job.request.references)
    data = job.model_copy(
        update={"request": job.request.model_copy(update={"references": stripped})}
    ).model_dump(mode="json")
    if job.delivery is not None and job.delivery.interaction_token is not None:
        data["delivery"]["interaction_token"] = job.delivery.interaction_token.get_secret_value()
    data["notified"] = int(data["notified"])
    return tuple(
        json.dumps(data[column]) if column in JSON_COLUMNS and data[column] is not None
        else data[column]
        for column in COLUMNS
    )  # fmt: skip


def job_from_row(row: Row) -> JobRecord:
    """A job record from a row of ``SELECT_JOB`` (or ``SELECT *``)."""
    data = {column: row[column] for column in COLUMNS}
    for column in JSON_COLUMNS:
        if data[column] is not None:
            data[column] = _json_or_plain(data[column])
    data["notified"] = bool(data["notified"])
    data["owner"] = row["lease_owner"]
    return JobRecord.model_validate(data)


def _json_or_plain(value: str) -> Any:
    """A JSON column's value; a failure reason stored as plain text before it was a ``Text``."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def insert_job(now: str, job: JobRecord, lease: float) -> tuple[str, tuple[Any, ...]]:
    """The statement adding ``job`` (leased to ``job.owner`` for ``lease`` seconds; '' : to
    nobody) and its values; ``now`` is the backend's clock expression. A job added before (a
    retried write) is left as it is."""
    placeholders = ", ".join("?" for _ in COLUMNS)
    expires = f"{now} + ?" if job.owner else "0"
    values = (*to_row(job), job.owner, *((float(lease),) if job.owner else ()))
    sql = (
        f"INSERT INTO jobs ({', '.join(COLUMNS)}, lease_owner, lease_expires_at,"  # noqa: S608 - fixed column names
        f" heartbeat_at) VALUES ({placeholders}, ?, {expires}, {now})"
        " ON CONFLICT (id) DO NOTHING"
    )
    return sql, values
