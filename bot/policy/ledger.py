"""Today's books in memory: images made, images held by running jobs, each member's last job.

The policy service checks every request against these without waiting on the database; the
store keeps the same facts durably (and, across processes, authoritatively).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from bot.policy.records import Reservation
from bot.policy.rules import Usage

Counts = tuple[int, int, int, int]  # member used, member pending, server used, server pending


def utc_date(timestamp: float) -> date:
    """The UTC date of a unix time."""
    return datetime.fromtimestamp(timestamp, UTC).date()


class Ledger:
    """Counters per (server, day, member) and per (server, day); cooldown clocks per member."""

    def __init__(self) -> None:
        self.used: defaultdict[tuple[int, str, int], int] = defaultdict(int)
        self.server_used: defaultdict[tuple[int, str], int] = defaultdict(int)
        self.pending: defaultdict[tuple[int, str, int], int] = defaultdict(int)
        self.server_pending: defaultdict[tuple[int, str], int] = defaultdict(int)
        self.reservations: dict[str, Reservation] = {}
        self.last_job: dict[tuple[int, int], float] = {}

    def clear(self) -> None:
        """Forget everything (before loading again)."""
        for counters in (self.used, self.server_used, self.pending, self.server_pending):
            counters.clear()
        self.reservations.clear()
        self.last_job.clear()

    def usage(self, scope: int, day: str, user_id: int) -> Usage:
        """A member's and their server's images on ``day``, running jobs included."""
        used, pending, server_used, server_pending = self.counts(scope, day, user_id)
        return Usage(
            member_images=used + pending,
            server_images=server_used + server_pending,
            last_job_at=self.last_job.get((scope, user_id)),
        )

    def counts(self, scope: int, day: str, user_id: int) -> Counts:
        """(member used, member pending, server used, server pending) on ``day``."""
        return (
            self.used.get((scope, day, user_id), 0),
            self.pending.get((scope, day, user_id), 0),
            self.server_used.get((scope, day), 0),
            self.server_pending.get((scope, day), 0),
        )

    def reserve(self, reservation: Reservation) -> None:
        """Hold a running job's images."""
        r = reservation
        self.reservations[r.job_id] = r
        self.pending[(r.scope, r.day, r.user_id)] += r.images
        self.server_pending[(r.scope, r.day)] += r.images

    def unreserve(self, job_id: str) -> Reservation | None:
        """Let go of a job's hold (None when it had none)."""
        r = self.reservations.pop(job_id, None)
        if r is not None:
            self.pending[(r.scope, r.day, r.user_id)] -= r.images
            self.server_pending[(r.scope, r.day)] -= r.images
        return r

    def count(self, scope: int, day: str, user_id: int, images: int) -> None:
        """Add made images (negative to take a count back)."""
        self.used[(scope, day, user_id)] += images
        self.server_used[(scope, day)] += images

    def prune(self, now: float, *, longest_cooldown: float) -> None:
        """Forget days that are over everywhere and cooldowns that ran out (the store keeps
        the history)."""
        oldest = (utc_date(now) - timedelta(days=2)).isoformat()
        for counters in (self.used, self.pending):
            for key in [k for k, v in counters.items() if k[1] < oldest or v == 0]:
                del counters[key]
        for server in (self.server_used, self.server_pending):
            for skey in [k for k, v in server.items() if k[1] < oldest or v == 0]:
                del server[skey]
        horizon = now - longest_cooldown
        for ukey in [k for k, at in self.last_job.items() if at < horizon]:
            del self.last_job[ukey]
