"""What the policy service needs from persistence, as a protocol ``bot.store`` implements.

The service is typed against ``PolicyStore``, never against a backend: SQLite today
(``bot.store.policy``), PostgreSQL later, fakes in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.policy.acceptance import AcceptanceStore
from bot.policy.models import GuildSettings
from bot.policy.records import (
    AuditEntry,
    DayUsage,
    EventCount,
    MemberUsage,
    PendingJob,
    Reservation,
)
from bot.policy.rules import Usage
from bot.policy.spend_ports import SpendStore


class PolicyStore(SpendStore, AcceptanceStore, Protocol):
    """Server settings, blocked terms, usage counters and the audit log, persisted (and the
    spending books and members' defaults, ``SpendStore``; jobs' acceptances,
    ``AcceptanceStore``)."""

    async def all_settings(self) -> dict[int, GuildSettings]:
        """Every server's stored settings."""
        ...

    async def save_settings(
        self, guild_id: int, settings: GuildSettings, *, by: int | None = None
    ) -> None:
        """Insert or replace a server's settings."""
        ...

    async def all_terms(self) -> dict[int, list[str]]:
        """Every server's blocked terms, oldest first."""
        ...

    async def add_term(self, guild_id: int, term: str, normalized: str, *, by: int | None) -> bool:
        """Add a term; False when one with the same spelling is already blocked."""
        ...

    async def remove_term(self, guild_id: int, normalized: str) -> bool:
        """Remove a term by its normalized spelling; False when it was not there."""
        ...

    async def record_usage(
        self, job_id: str, guild_id: int, user_id: int, day: str, images: int
    ) -> bool:
        """Count a completed job's images once; False if this job was already counted."""
        ...

    async def usage_since(self, first_day: str) -> list[tuple[int, str, int, int]]:
        """(guild, day, member, images) for every day from ``first_day`` (to load counters)."""
        ...

    async def pending_jobs(self) -> list[PendingJob]:
        """Accepted Discord jobs that have not finished (their images are reserved)."""
        ...

    async def last_jobs_since(self, since: float) -> list[tuple[int | None, int, float]]:
        """(guild, member, latest job time) for members who started a job after ``since``."""
        ...

    async def add_audit(self, entry: AuditEntry) -> bool:
        """Append an entry; False if this job's outcome was already logged (hooks may rerun)."""
        ...

    async def usage_by_day(
        self, guild_id: int, first_day: str, *, user_id: int | None = None
    ) -> list[DayUsage]:
        """Images and jobs per day from ``first_day``, newest first (one member if given)."""
        ...

    async def usage_by_member(
        self, guild_id: int, first_day: str, *, limit: int = 15
    ) -> list[MemberUsage]:
        """The members who made the most images since ``first_day``."""
        ...

    async def event_counts(
        self, guild_id: int, first_day: str, *, user_id: int | None = None
    ) -> list[EventCount]:
        """Failures and refusals since ``first_day``, by event and rule, most frequent first."""
        ...

    async def audit_entries(self, guild_id: int, *, limit: int = 20) -> list[AuditEntry]:
        """The latest audit entries of a server, newest first."""
        ...

    # ------------------------------------------------------------------ shared by every process

    async def reserve(
        self, hold: Reservation, *, at: float, decide: Callable[[Usage], None]
    ) -> None:
        """Store ``hold`` (made ``at``) if ``decide`` (raising a refusal otherwise) accepts the
        day's usage of every process; atomic per server, so none can overrun a quota."""
        ...

    async def release_reservation(self, job_id: str, *, previous_job_at: float | None) -> None:
        """Let go of a job that was not accepted after all: its images and its cooldown."""
        ...

    async def settle(
        self, job_id: str, *, scope: int, user_id: int, day: str, images: int, at: float
    ) -> bool:
        """A job finished: its hold becomes ``images`` of usage; False if counted before."""
        ...

    async def adopt_reservations(self, held: list[tuple[str, int, str, int, int, float]]) -> None:
        """Hold (job, scope, day, member, images, at) for running jobs that have no hold yet."""
        ...

    async def sweep_reservations(self, before: float) -> int:
        """Drop holds older than ``before`` of jobs that ended or were never recorded."""
        ...

    async def member_usage(self, scope: int, day: str, user_id: int) -> tuple[int, int, int, int]:
        """(member used, member pending, server used, server pending) across every process."""
        ...

    async def changed_since(self, since: float) -> tuple[float, dict[int, int]]:
        """The database's time and the servers whose settings changed since ``since``."""
        ...

    async def guild_policy(self, guild_id: int) -> tuple[GuildSettings | None, list[str]]:
        """One server's stored settings (None: defaults) and blocked terms."""
        ...
