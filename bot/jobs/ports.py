"""What the engine needs from persistence, as protocols ``bot.store`` implements.

The jobs domain owns these interfaces and never imports a backend: SQLite and files on disk
today (``bot.store``), PostgreSQL or object storage later, fakes in tests.
"""

from __future__ import annotations

from typing import Protocol

from bot.jobs.records import JobRecord, Origin


class JobStore(Protocol):
    """Job rows: added once, saved before every irreversible step, read back to resume."""

    async def add(self, job: JobRecord) -> None:
        """Insert a new job."""
        ...

    async def save(self, job: JobRecord) -> None:
        """Write the job's current fields."""
        ...

    async def get(self, job_id: str) -> JobRecord | None:
        """One job by id, or by a unique prefix of at least 8 characters (as shown to members)."""
        ...

    async def unfinished(self, origin: Origin) -> list[JobRecord]:
        """Jobs that still need upstream work or a message to the member, oldest first."""
        ...

    async def recent_for_user(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 10
    ) -> list[JobRecord]:
        """A member's latest jobs, newest first (in one server when ``guild_id`` is given)."""
        ...

    async def with_files_finished_before(self, cutoff: float, *, limit: int) -> list[JobRecord]:
        """Told jobs finished before ``cutoff`` (unix seconds) that still have stored files."""
        ...


class JobFiles(Protocol):
    """A job's image files: the member's inputs (Discord's URLs expire) and fitted results."""

    async def write(self, job_id: str, name: str, data: bytes) -> str:
        """Store ``data`` as ``name`` for the job; returns the path to read it back by."""
        ...

    async def read(self, path: str) -> bytes:
        """The bytes of a stored file (FileNotFoundError once it was pruned)."""
        ...

    async def delete_job(self, job_id: str) -> None:
        """Remove every file of a job."""
        ...
