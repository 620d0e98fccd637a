"""Group commit for acceptances: a burst of jobs is decided and written in a few transactions.

Each acceptance (``bot.policy.acceptance``: a job's quota reservation, budget hold and record)
joins a queue. When no batch is being written, a writer takes everything queued and writes it
as one transaction (``bot.store.accepting.write_batch``); acceptances that arrive meanwhile wait
for it and form the next batch. There is no timer: a lone job is written at once, so a quiet bot
is not slower, and under a burst the batches grow by themselves to what arrived while the last
one was being written. At most one batch per database is in flight in a process.

Every caller gets its own outcome: its refusal (nothing of it written) or nothing. A database
error fails the whole batch, after the database's own retries, and every caller in it sees it.
A caller that gives up waiting (cancelled) does not take its acceptance back: it is written
with the batch, like a write already sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field

from bot.policy.acceptance import Acceptance
from bot.store.accepting import lone_record, write_batch
from bot.store.sql import Database, Transaction

log = logging.getLogger(__name__)

MAX_BATCH = 200  # acceptances per transaction: keeps each statement's parameters well bounded


@dataclass
class BatchStats:
    """What the writer did, for tests and logs."""

    batches: int = 0
    acceptances: int = 0
    largest: int = 0


@dataclass
class _Waiting:
    """One queued acceptance and where its caller waits for the outcome."""

    acceptance: Acceptance
    answer: asyncio.Future[None] = field(repr=False)


class GroupCommit:
    """The acceptance queue of one database in this process, and its single writer."""

    def __init__(self, database: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.database = database
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def accept(self, acceptance: Acceptance) -> None:
        """Decide and write ``acceptance`` with whatever else is queued; raise its refusal."""
        waiting = _Waiting(acceptance, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            # A context of its own: the batch is no one job's (its log lines name none).
            self._writer = asyncio.create_task(
                self._drain(), name="easel-group-commit", context=contextvars.Context()
            )
        await waiting.answer

    async def _drain(self) -> None:
        """Write batches until the queue is empty."""
        batch: list[_Waiting] = []
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: len(batch)]
                await self._write(batch)
                batch = []
        except asyncio.CancelledError:
            for waiting in (*batch, *self._queue):  # the loop is closing: nobody writes these
                waiting.answer.cancel()
            self._queue.clear()
            raise

    async def _write(self, batch: list[_Waiting]) -> None:
        acceptances = [waiting.acceptance for waiting in batch]

        async def work(tx: Transaction) -> list[Exception | None]:
            return await write_batch(tx, self.database, acceptances)

        try:
            if (alone := lone_record(self.database, acceptances)) is not None:
                await self.database.execute(*alone)  # nothing to decide: one statement
                outcomes: list[Exception | None] = [None]
            else:
                outcomes = await self.database.transaction(work)
        except Exception as exc:  # noqa: BLE001 - every caller of the batch is told
            log.warning("a batch of %d acceptance(s) failed: %r", len(batch), exc)
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        self.stats.batches += 1
        self.stats.acceptances += len(batch)
        self.stats.largest = max(self.stats.largest, len(batch))
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.answer.done():
                continue  # its caller stopped waiting; the acceptance is written all the same
            if outcome is None:
                waiting.answer.set_result(None)
            else:
                waiting.answer.set_exception(outcome)


def group_commit(database: Database) -> GroupCommit:
    """The acceptance queue of ``database`` (one per database, shared by its stores; kept on
    the database object, so it lives and goes with it)."""
    commit: GroupCommit | None = vars(database).get("_group_commit")
    if commit is None:
        commit = vars(database)["_group_commit"] = GroupCommit(database)
    return commit
