"""What budgets, reports and members' own defaults need from persistence (``bot.store``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.policy.budget import Spending
from bot.policy.defaults import JobDefaults
from bot.policy.records import JobSpend, PendingSpend, SpendEntry, SpendHold


class SpendStore(Protocol):
    """The spending books and each member's defaults, persisted."""

    @property
    def shared(self) -> bool:
        """Whether other processes use the same books (PostgreSQL; False: a SQLite file)."""
        ...

    async def record_spend(self, entry: SpendEntry) -> bool:
        """Record a finished job's cost once (its hold goes); False if recorded before."""
        ...

    async def hold_spend(
        self,
        hold: SpendHold,
        *,
        currency: str,
        decide: Callable[[Spending], None] | None = None,
        everywhere: bool = False,
    ) -> None:
        """Store ``hold`` if ``decide`` (raising a refusal otherwise) accepts what every process
        spent and holds; atomic per server (``everywhere``: across servers), so no two
        processes can both take a budget's last cents."""
        ...

    async def drop_spend_hold(self, job_id: str) -> None:
        """Let go of a job's hold."""
        ...

    async def adopt_spend_holds(self, holds: list[SpendHold], *, currency: str) -> None:
        """Hold running jobs' estimates that have no hold yet; existing holds are kept."""
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
