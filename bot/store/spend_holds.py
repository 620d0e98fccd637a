"""Budget holds every process shares: a job's estimate is held in one locked transaction that
reads what every process spent and holds, so two processes cannot both take a budget's last
cents (``bot.policy.spend_ports.SpendStore``). The transaction is the acceptances' group commit
(``bot.store.batch``; the reading and deciding is ``bot.store.accepting.SpendCounters``).

Amounts are decimal text: exact sums on both backends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.policy.acceptance import Acceptance, SpendClaim
from bot.policy.budget import Spending
from bot.policy.records import SpendHold
from bot.store.batch import group_commit
from bot.store.database import Database


class SpendHolds:
    """The shared budget holds (mixed into ``SqlPolicyStore``, beside ``SpendRows``)."""

    database: Database

    async def hold_spend(
        self,
        hold: SpendHold,
        *,
        currency: str,
        decide: Callable[[Spending], None] | None = None,
        everywhere: bool = False,
    ) -> None:
        """Store ``hold`` if ``decide`` accepts what every process spent and holds (``decide``
        raises a ``PolicyRefusal`` to refuse: then nothing is written).

        ``everywhere``: a budget covers every server (the host's), so holds of all servers are
        taken one at a time; otherwise one server's at a time. Written with the other
        acceptances arriving meanwhile (``bot.store.batch``); ``decide`` may be called again if
        the transaction is retried, so it must only decide.
        """
        claim = SpendClaim(hold, currency, decide, everywhere)
        await group_commit(self.database).accept(Acceptance(spend=claim))

    async def drop_spend_hold(self, job_id: str) -> None:
        """Let go of a job's hold (it finished without a cost to record, or was not accepted)."""
        await self.database.execute("DELETE FROM spend_holds WHERE job_id = ?", (job_id,))

    async def adopt_spend_holds(self, holds: list[SpendHold], *, currency: str) -> None:
        """Hold running jobs' estimates that have no hold yet (accepted before the table
        existed, or before a restart); existing holds are kept."""
        for hold in holds:
            await self.database.execute(
                "INSERT INTO spend_holds (job_id, scope, user_id, day, host_day, amount,"
                " currency, created_at) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS"
                " (SELECT 1 FROM spending WHERE job_id = ?) ON CONFLICT (job_id) DO NOTHING",
                (
                    *(hold.job_id, hold.scope, hold.user_id, hold.day, hold.host_day),
                    *(str(hold.amount), currency, time.time(), hold.job_id),
                ),
            )
