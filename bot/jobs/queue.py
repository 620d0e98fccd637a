"""A fair queue: global, per-server and per-member caps, members served round-robin.

A member who queues ten jobs does not starve the others: each free slot goes to the next member
in turn (across servers), skipping members or servers already at their cap.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
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
        self._waiting: OrderedDict[int | None, deque[QueuedJob]] = OrderedDict()
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
        entry = QueuedJob(job_id, member, guild)
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

    def _dispatch(self) -> None:
        """Grant slots round-robin over members, then recompute every waiting position."""
        progressed = True
        while progressed and len(self._running) < self.limits.global_jobs:
            progressed = False
            for member in list(self._waiting):
                jobs = self._waiting[member]
                if not self._allowed(jobs[0]):
                    continue
                entry = jobs.popleft()
                # The member goes to the back of the rotation: the next slot is someone else's.
                del self._waiting[member]
                if jobs:
                    self._waiting[member] = jobs
                self._start(entry)
                progressed = True
                break
        self._update_positions()

    def _start(self, entry: QueuedJob) -> None:
        self._running[entry.job_id] = entry
        self._per_member[entry.member] = self._per_member.get(entry.member, 0) + 1
        self._per_guild[entry.guild] = self._per_guild.get(entry.guild, 0) + 1
        self._positions.pop(entry.job_id, None)
        if not entry.granted.done():
            entry.granted.set_result(None)

    def _update_positions(self) -> None:
        """Place in line = order the round-robin would serve them (rank 1 goes next)."""
        lines = [list(jobs) for jobs in self._waiting.values()]
        order = [
            job
            for depth in range(max(map(len, lines), default=0))
            for line in lines
            if depth < len(line)
            for job in [line[depth]]
        ]
        for rank, entry in enumerate(order, start=1):
            if self._positions.get(entry.job_id) != rank:
                self._positions[entry.job_id] = rank
                if self._on_position is not None:
                    self._on_position(entry.job_id, rank)
