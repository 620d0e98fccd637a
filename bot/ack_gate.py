"""Acknowledge first: which interactions still wait for their acknowledgement.

When many members press at once, every interaction must be answered within Discord's 3 s and
the sooner the better; checking a job, saving it and its first progress edit can wait a moment.
The gate counts the interactions awaiting their acknowledgement: from when a job command
arrives from the gateway (``arrived``) or its defer starts (``acknowledging``) until it is
answered. Work after a defer waits while any are in flight (``wait_until_quiet``), capped so
steady traffic never starves accepted jobs; the count also tells when a burst is under way
(``bot.early_ack``).

After a burst (``burst`` interactions awaiting at once) that work also holds for ``settle``
seconds more. A burst rarely reaches one process alone: shard processes on the same cores, and
the database they share, are still acknowledging theirs, and the work after a defer (checking
and recording a job, its first messages) costs several times the defer. A job takes tens of
seconds upstream, so starting it a fraction of a second later costs its member nothing, while
a late acknowledgement shows "thinking…" late or fails outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

#: Discord stops waiting for an acknowledgement after 3 s: an interaction nobody answered by
#: then (refused with an error, or dropped) no longer counts as awaiting one.
ACK_DEADLINE = 3.0
#: Interactions awaiting at once from which the process is in a burst (``bot.early_ack``).
BURST = 8
#: How long work after a defer holds once this process's burst is acknowledged.
SETTLE = 0.3


class AckGate:
    """The interactions awaiting their acknowledgement in this process."""

    def __init__(
        self,
        max_wait: float = 1.0,
        ack_deadline: float = ACK_DEADLINE,
        *,
        burst: int = BURST,
        settle: float = SETTLE,
    ) -> None:
        self.max_wait = max_wait
        self.ack_deadline = ack_deadline
        self.burst = burst
        self.settle = settle
        self._burst_ended_at: float | None = None  # monotonic; None while none was seen lately
        self._in_burst = False
        self._anonymous = 0  # defers in flight whose interaction was not counted on arrival
        self._arrived: dict[int, asyncio.TimerHandle] = {}
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def pending(self) -> int:
        """Interactions awaiting their acknowledgement now."""
        return self._anonymous + len(self._arrived)

    def arrived(self, interaction_id: int) -> None:
        """An interaction came in: it awaits its acknowledgement until ``answered`` (or 3 s)."""
        if interaction_id in self._arrived:
            return
        expiry = asyncio.get_running_loop().call_later(
            self.ack_deadline, self.answered, interaction_id
        )
        self._arrived[interaction_id] = expiry
        self._started()

    def answered(self, interaction_id: int) -> None:
        """The interaction was acknowledged, answered or refused: it no longer waits."""
        expiry = self._arrived.pop(interaction_id, None)
        if expiry is not None:
            expiry.cancel()
            self._settle()

    @contextlib.asynccontextmanager
    async def acknowledging(self, interaction_id: int | None = None) -> AsyncIterator[None]:
        """One acknowledgement in flight; the interaction counts as answered once it is sent.

        An interaction counted on arrival is answered at the end; any other one counts only
        while its defer is in flight.
        """
        counted = interaction_id is not None and interaction_id in self._arrived
        if not counted:
            self._anonymous += 1
            self._started()
        try:
            yield
        finally:
            if counted:
                assert interaction_id is not None
                self.answered(interaction_id)
            else:
                self._anonymous -= 1
                self._settle()

    @property
    def in_burst(self) -> bool:
        """Whether ``burst`` interactions awaited their acknowledgement at once since the
        process was last quiet."""
        return self._in_burst

    async def wait_until_quiet(self) -> None:
        """Return once no acknowledgement is awaited (at most ``max_wait``), and ``settle``
        seconds after the end of a burst."""
        if self.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), self.max_wait)
        if self._burst_ended_at is not None:
            hold = self._burst_ended_at + self.settle - time.monotonic()
            if hold > 0:
                await asyncio.sleep(hold)
            elif not self._in_burst:
                self._burst_ended_at = None

    def _started(self) -> None:
        self._quiet.clear()
        if self.pending >= self.burst:
            self._in_burst = True

    def _settle(self) -> None:
        if not self.pending:
            self._quiet.set()
            if self._in_burst:
                self._in_burst = False
                self._burst_ended_at = time.monotonic()


#: The process's gate: the gateway counts arrivals in it, the cogs' defers answer them.
ACK_GATE = AckGate()
