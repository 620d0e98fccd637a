"""What budgets, reports and members' own defaults need from persistence (``bot.store``)."""

from __future__ import annotations

from typing import Protocol

from bot.policy.defaults import JobDefaults
from bot.policy.records import JobSpend, PendingSpend, SpendEntry


class SpendStore(Protocol):
    """The spending books and each member's defaults, persisted."""

    async def record_spend(self, entry: SpendEntry) -> bool:
        """Record a finished job's cost once; False if this job was recorded before."""
        ...

    async def spend_since(self, since: float) -> list[SpendEntry]:
        """Every recorded cost of a job accepted at or after ``since`` (to load the books)."""
        ...

    async def pending_spend(self) -> list[PendingSpend]:
        """Accepted Discord jobs that have not finished, with their estimates (held spend)."""
        ...

    async def job_spend(
        self, guild_id: int | None, first_day: str, last_day: str | None = None
    ) -> list[JobSpend]:
        """Each finished job from ``first_day`` to ``last_day`` (a server's, or every one):
        images made and what it cost (None where unknown, and for jobs from before prices)."""
        ...

    async def all_member_defaults(self) -> dict[tuple[int, int], JobDefaults]:
        """Every member's own defaults, by (server, member)."""
        ...

    async def save_member_defaults(
        self, guild_id: int, user_id: int, defaults: JobDefaults | None
    ) -> None:
        """Store a member's defaults in a server (None or empty: forget them)."""
        ...
