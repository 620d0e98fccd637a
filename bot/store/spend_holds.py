"""Budget holds every process shares: a job's estimate is held in one locked transaction that
reads what every process spent and holds, so two processes cannot both take a budget's last
cents (``bot.policy.spend_ports.SpendStore``).

Amounts are decimal text. PostgreSQL adds them up as ``NUMERIC`` (exact); SQLite has no exact
decimal type, so there the rows are added up as ``Decimal`` in Python (one process, a small
file: its own books already decide, this only keeps the two backends one contract).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.policy.budget import Spending, Spent, local_month
from bot.policy.records import SpendHold
from bot.store.database import Database, Transaction

TOTALS = ("member_day", "member_month", "server_day", "server_month", "host_day", "host_month")


def _utc_range(day: str, *, month: bool) -> tuple[float, float]:
    """Unix seconds from the start of a UTC ``day`` (or of its month) to the start of the next."""
    first = date.fromisoformat(day)
    if month:
        first = first.replace(day=1)
        after = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    else:
        after = date.fromordinal(first.toordinal() + 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    end = datetime(after.year, after.month, after.day, tzinfo=UTC).timestamp()
    return start, end


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
        taken one at a time; otherwise one server's at a time. ``decide`` may be called again
        if the transaction is retried, so it must only decide.
        """

        async def work(tx: Transaction) -> None:
            await tx.lock("easel:budget" if everywhere else f"easel:budget:{hold.scope}")
            if decide is not None:
                decide(await self._spending(tx, hold, currency, host=everywhere))
            await tx.execute(
                "INSERT INTO spend_holds (job_id, scope, user_id, day, host_day, amount,"
                " currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id) DO NOTHING",
                (
                    hold.job_id,
                    hold.scope,
                    hold.user_id,
                    hold.day,
                    hold.host_day,
                    str(hold.amount),
                    currency,
                    time.time(),
                ),
            )

        await self.database.transaction(work)

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

    async def _spending(
        self, tx: Transaction, hold: SpendHold, currency: str, *, host: bool
    ) -> Spending:
        """Spent and held, by every process, for the member, the server and (with ``host``)
        every server, on the hold's day and in its month; the hold's own job left out."""
        month = local_month(hold.day)
        day_start, day_end = _utc_range(hold.host_day, month=False)
        month_start, month_end = _utc_range(hold.host_day, month=True)
        spent = await self._totals(
            tx,
            "SELECT cost AS amount,"
            " (guild_id = ? AND user_id = ? AND day = ?) AS member_day,"
            " (guild_id = ? AND user_id = ? AND substr(day, 1, 7) = ?) AS member_month,"
            " (guild_id = ? AND day = ?) AS server_day,"
            " (guild_id = ? AND substr(day, 1, 7) = ?) AS server_month,"
            " (accepted_at >= ? AND accepted_at < ?) AS host_day,"
            " (accepted_at >= ? AND accepted_at < ?) AS host_month"
            " FROM spending WHERE cost IS NOT NULL AND currency = ? AND job_id != ?"
            " AND (guild_id = ? OR (? AND accepted_at >= ? AND accepted_at < ?))",
            [
                *(hold.scope, hold.user_id, hold.day, hold.scope, hold.user_id, month),
                *(hold.scope, hold.day, hold.scope, month),
                *(day_start, day_end, month_start, month_end),
                *(currency, hold.job_id, hold.scope, host, month_start, month_end),
            ],
        )
        held = await self._totals(
            tx,
            "SELECT amount,"
            " (scope = ? AND user_id = ? AND day = ?) AS member_day,"
            " (scope = ? AND user_id = ? AND substr(day, 1, 7) = ?) AS member_month,"
            " (scope = ? AND day = ?) AS server_day,"
            " (scope = ? AND substr(day, 1, 7) = ?) AS server_month,"
            " (host_day = ?) AS host_day,"
            " (substr(host_day, 1, 7) = ?) AS host_month"
            " FROM spend_holds WHERE currency = ? AND job_id != ?"
            " AND (scope = ? OR (? AND substr(host_day, 1, 7) = ?))",
            [
                *(hold.scope, hold.user_id, hold.day, hold.scope, hold.user_id, month),
                *(hold.scope, hold.day, hold.scope, month),
                *(hold.host_day, local_month(hold.host_day)),
                *(currency, hold.job_id, hold.scope, host, local_month(hold.host_day)),
            ],
        )
        total = [spent[name] + held[name] for name in TOTALS]
        return Spending(
            member=Spent(total[0], total[1]),
            server=Spent(total[2], total[3]),
            host=Spent(total[4], total[5]) if host else Spent(),
        )

    async def _totals(
        self, tx: Transaction, rows_sql: str, params: list[Any]
    ) -> dict[str, Decimal]:
        """Each flag column's sum of ``amount`` over ``rows_sql``."""
        if self.database.dialect == "postgres":
            sums = ", ".join(
                f"COALESCE(SUM(CASE WHEN {name} THEN CAST(amount AS NUMERIC) END), 0) AS {name}"
                for name in TOTALS
            )
            row = await tx.fetch_one(f"SELECT {sums} FROM ({rows_sql}) AS found", params)  # noqa: S608 - constants
            assert row is not None
            return {name: Decimal(row[name]) for name in TOTALS}
        totals = dict.fromkeys(TOTALS, Decimal(0))
        for row in await tx.fetch_all(rows_sql, params):
            amount = Decimal(str(row["amount"]))
            for name in TOTALS:
                if row[name]:
                    totals[name] += amount
        return totals
