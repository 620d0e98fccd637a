"""What the engine needs from persistence, as protocols ``bot.store`` implements.

The jobs domain owns these interfaces and never imports a backend: SQLite and files on disk
today (``bot.store``), PostgreSQL or object storage later, fakes in tests.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from pydantic import BaseModel

from bot.jobs.queue import QueueLimits
from bot.jobs.records import JobRecord, Origin


class StoreUnavailableError(Exception):
    """The database stayed unreachable longer than the store waits for it to come back.

    Nothing is lost: the job's row keeps its last state, and once its lease expires a live
    process (this one included) claims it and continues from there.
    """


class LeaseLostError(Exception):
    """Another process owns the job now (this one's lease ran out): stop working on it."""


class Worker(BaseModel):
    """One process sharing the work, as the others see it."""

    id: str
    host: str = ""
    shards: str = ""  # e.g. "0,1"; empty when not sharded


class JobStore(Protocol):
    """Job rows: added once, saved before every irreversible step, read back to resume.

    Every unfinished job is leased to one process (``JobRecord.owner``). A save is fenced by
    that lease: a process whose lease was taken over can no longer write the job.
    """

    @property
    def shared(self) -> bool:
        """Whether other processes may work on the same jobs (False: SQLite, one process)."""
        ...

    async def add(self, job: JobRecord, *, lease: float = 0.0) -> None:
        """Insert a new job, leased to ``job.owner`` for ``lease`` seconds."""
        ...

    async def save(self, job: JobRecord) -> None:
        """Write the job's current fields; ``LeaseLostError`` if ``job.owner`` lost the lease."""
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

    async def claim(
        self,
        owner: str,
        origins: Sequence[Origin],
        *,
        lease: float,
        limit: int,
        take_live: bool = False,
    ) -> list[JobRecord]:
        """Unfinished jobs whose lease ran out (or that have none), now leased to ``owner``.

        Oldest first, at most ``limit``; rows another process is claiming at the same moment
        are skipped, never shared. ``take_live`` also takes leases that have not run out (one
        process on a file of its own: whoever held them before was this process, restarted).
        """
        ...

    async def renew(self, owner: str, job_ids: Collection[str], *, lease: float) -> set[str]:
        """Extend ``owner``'s leases on ``job_ids``; returns the ids it still holds."""
        ...

    async def release(self, owner: str, job_ids: Collection[str]) -> None:
        """Give up leases at once (a clean stop), so another process can claim them now."""
        ...

    async def start_running(self, job: JobRecord, limits: QueueLimits) -> bool:
        """Move a queued job to ``uploading`` if the caps allow it across every process.

        False (nothing changed) when the global, server or member cap is full right now.
        """
        ...

    async def beat(self, worker: Worker, *, lease: float) -> int:
        """Record that ``worker`` is alive for ``lease`` more seconds; returns how many are."""
        ...

    async def leave(self, worker_id: str) -> None:
        """Remove a worker that stops cleanly."""
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


class JobRecorder(Protocol):
    """Writes a new job's record in place of ``JobStore.add``: the policy's acceptance writes
    it in one transaction with the job's quota reservation and budget hold (or refuses it)."""

    async def __call__(self, job: JobRecord, *, lease: float) -> None:
        """Write ``job``, leased to ``job.owner`` for ``lease`` seconds; raise to refuse it."""
        ...
