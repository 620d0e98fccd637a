"""A fair queue: global, per-server and per-member caps, members served round-robin.

A member who queues ten jobs does not starve the others: each free slot goes to the waiting member
who was served least recently (members never served first, then by arrival), skipping members or
servers already at their cap.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class QueueLimits(BaseModel):
    """How many jobs may run at once."""

    global_jobs: int = Field(default=50, ge=1)
    per_guild: int = Field(default=20, ge=1)
    per_member: int = Field(default=3, ge=1)


@dataclass
class QueuedJob:
    """A job waiting for a slot."""

    job_id: str
    member: int | None
    guild: int | None
    seq: int = 0
    granted: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class FairQueue:
    """Hands out run slots fairly; reports each waiting job's position when it changes."""

    def __init__(
        self,
        limits: QueueLimits | None = None,
        *,
        on_position: Callable[[str, int], None] | None = None,
    ) -> None:
        self.limits = limits or QueueLimits()
        self._on_position = on_position
        self._waiting: dict[int | None, deque[QueuedJob]] = {}
        self._last_served: dict[int | None, int] = {}
        self._serial = itertools.count()
        self._running: dict[str, QueuedJob] = {}
        self._per_member: dict[int | None, int] = {}
        self._per_guild: dict[int | None, int] = {}
        self._positions: dict[str, int] = {}

    @property
    def running(self) -> int:
        """Jobs holding a slot."""
        return len(self._running)

    @property
    def waiting(self) -> int:
        """Jobs waiting for a slot."""
        return sum(len(jobs) for jobs in self._waiting.values())

    def position(self, job_id: str) -> int | None:
        """1-based place in line, or None when the job is not waiting."""
        return self._positions.get(job_id)

    def enqueue(self, job_id: str, *, member: int | None, guild: int | None) -> QueuedJob:
        """Add a job; await ``entry.granted`` for its slot, then call ``release``."""
        entry = QueuedJob(job_id, member, guild, seq=next(self._serial))
        self._waiting.setdefault(member, deque()).append(entry)
        self._dispatch()
        return entry

    def release(self, job_id: str) -> None:
        """Free a running job's slot (or drop a waiting job)."""
        entry = self._running.pop(job_id, None)
        if entry is not None:
            self._per_member[entry.member] -= 1
            self._per_guild[entry.guild] -= 1
        else:
            self._drop_waiting(job_id)
        self._dispatch()

    def _drop_waiting(self, job_id: str) -> None:
        for member, jobs in list(self._waiting.items()):
            for entry in jobs:
                if entry.job_id == job_id:
                    jobs.remove(entry)
                    if not entry.granted.done():
                        entry.granted.cancel()
                    if not jobs:
                        del self._waiting[member]
                    self._positions.pop(job_id, None)
                    return

    def _allowed(self, entry: QueuedJob) -> bool:
        return (
            len(self._running) < self.limits.global_jobs
            and self._per_member.get(entry.member, 0) < self.limits.per_member
            and self._per_guild.get(entry.guild, 0) < self.limits.per_guild
        )

    def _turn_order(self) -> list[int | None]:
        """Waiting members, the one served least recently first (ties: who arrived first)."""
        return sorted(
            self._waiting,
            key=lambda member: (self._last_served.get(member, -1), self._waiting[member][0].seq),
        )

    def _dispatch(self) -> None:
        """Grant free slots member by member in turn order, then recompute waiting positions."""
        while len(self._running) < self.limits.global_jobs:
            ready = [m for m in self._turn_order() if self._allowed(self._waiting[m][0])]
            if not ready:
                break
            member = ready[0]
            jobs = self._waiting[member]
            entry = jobs.popleft()
            if not jobs:
                del self._waiting[member]
            self._last_served[member] = next(self._serial)
            self._start(entry)
        self._update_positions()

    def _start(self, entry: QueuedJob) -> None:
        self._running[entry.job_id] = entry
        self._per_member[entry.member] = self._per_member.get(entry.member, 0) + 1
        self._per_guild[entry.guild] = self._per_guild.get(entry.guild, 0) + 1
        self._positions.pop(entry.job_id, None)
        if not entry.granted.done():
            entry.granted.set_result(None)

    def _update_positions(self) -> None:
        """Place in line: rounds of one job per member, members in turn order (1 goes next)."""
        lines = [list(self._waiting[member]) for member in self._turn_order()]
        depth = max(map(len, lines), default=0)
        order = [line[d] for d in range(depth) for line in lines if d < len(line)]
        for rank, entry in enumerate(order, start=1):
            if self._positions.get(entry.job_id) != rank:
                self._positions[entry.job_id] = rank
                if self._on_position is not None:
                    self._on_position(entry.job_id, rank)
