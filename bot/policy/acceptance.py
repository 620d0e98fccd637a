"""Accepting a job in the shared database: its quota reservation, its budget hold and its record,
decided and written together (``AcceptanceStore``, implemented by ``bot.store.batch``).

The memory check (``PolicyService.check``) is the fast first word; an ``Acceptance`` is the
final one, where every process's usage and spending count. The store groups the acceptances that
arrive together into one transaction (group commit): a burst of jobs costs a few statements, not
a dozen per job, while each job still gets its own answer (its own refusal, or nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.jobs.records import JobRecord
from bot.policy.budget import Spending
from bot.policy.records import Reservation, SpendHold
from bot.policy.rules import Usage


@dataclass(frozen=True)
class QuotaClaim:
    """Images to reserve, made ``at`` (the member's cooldown clock), if ``decide`` accepts the
    day's usage of every process (it raises a ``PolicyRefusal`` to refuse). ``decide`` may run
    again if the transaction is retried, so it must only decide."""

    reservation: Reservation
    at: float
    decide: Callable[[Usage], None]


@dataclass(frozen=True)
class SpendClaim:
    """Money to hold, if ``decide`` (None: no budget applies) accepts what every process spent
    and holds; ``everywhere``: a budget covers every server (the host's)."""

    hold: SpendHold
    currency: str
    decide: Callable[[Spending], None] | None = None
    everywhere: bool = False


@dataclass(frozen=True)
class Acceptance:
    """What accepting one job writes: all of it, or (refused) none of it."""

    quota: QuotaClaim | None = None
    spend: SpendClaim | None = None
    job: JobRecord | None = None  # the record (``JobStore.add``), leased for ``lease`` seconds
    lease: float = 0.0

    @property
    def job_id(self) -> str:
        """The job this is about."""
        if self.job is not None:
            return self.job.id
        if self.quota is not None:
            return self.quota.reservation.job_id
        if self.spend is not None:
            return self.spend.hold.job_id
        raise ValueError("an empty acceptance")


class AcceptanceStore(Protocol):
    """Where acceptances are decided and written (grouped with the others arriving meanwhile)."""

    async def accept(self, acceptance: Acceptance) -> None:
        """Write ``acceptance`` if every claim's ``decide`` accepts; else raise its refusal and
        write nothing of it. Atomic per server (and per budget), across processes."""
        ...
