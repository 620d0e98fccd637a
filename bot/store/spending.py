"""The spending books and members' own defaults (``bot.policy.spend_ports.SpendStore``), in SQL
that SQLite and PostgreSQL both run (``?`` placeholders, ``ON CONFLICT``).

Amounts are decimal text: exact, and summed as ``Decimal`` in Python, never as floats in SQL.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.policy.defaults import JobDefaults
from bot.policy.records import JobSpend, PendingSpend, SpendEntry
from bot.providers.prices import UNKNOWN, Price
from bot.store.database import Database, Transaction

log = logging.getLogger(__name__)


def _amount(text: Any) -> Decimal | None:
    """A stored amount; None for NULL, 'unknown' or anything unreadable."""
    if text is None or text == UNKNOWN:
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        log.warning("unreadable amount %r in the spending books; counted as unknown", text)
        return None


def _price(text: Any) -> Price | None:
    """A stored estimate: an amount, 'unknown', or None (not priced)."""
    if text == UNKNOWN:
        return UNKNOWN
    return _amount(text)


class SpendRows:
    """The ``SpendStore`` half of the SQL policy store (mixed into ``SqlPolicyStore``)."""

    database: Database

    async def record_spend(self, entry: SpendEntry) -> bool:
        """Record a finished job's cost once, letting go of its hold in the same transaction
        (no moment where another process sees neither); False if recorded before."""

        async def work(tx: Transaction) -> bool:
            changed = await tx.execute(
                "INSERT INTO spending (job_id, guild_id, user_id, day, accepted_at, images, cost,"
                " currency, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id) DO NOTHING",
                (
                    entry.job_id,
                    entry.guild_id,
                    entry.user_id,
                    entry.day,
                    entry.accepted_at,
                    entry.images,
                    None if entry.cost is None else str(entry.cost),
                    entry.currency,
                    time.time(),
                ),
            )
            await tx.execute("DELETE FROM spend_holds WHERE job_id = ?", (entry.job_id,))
            return changed > 0

        return await self.database.transaction(work)

    async def spend_since(self, since: float) -> list[SpendEntry]:
        """Every recorded cost of a job accepted at or after ``since`` (to load the books)."""
        rows = await self.database.fetch_all(
            "SELECT job_id, guild_id, user_id, day, accepted_at, images, cost, currency"
            " FROM spending WHERE accepted_at >= ?",
            (since,),
        )
        return [
            SpendEntry(
                job_id=r["job_id"],
                guild_id=int(r["guild_id"]),
                user_id=int(r["user_id"]),
                day=str(r["day"]),
                accepted_at=float(r["accepted_at"]),
                images=int(r["images"]),
                cost=_amount(r["cost"]),
                currency=str(r["currency"]),
            )
            for r in rows
        ]

    async def pending_spend(self) -> list[PendingSpend]:
        """Accepted Discord jobs that have not finished, with their estimates (held spend)."""
        rows = await self.database.fetch_all(
            "SELECT id, guild_id, user_id, created_at, estimated_cost FROM jobs"
            " WHERE origin = 'discord' AND user_id IS NOT NULL"
            " AND state NOT IN ('delivered', 'failed', 'cancelled')"
        )
        return [
            PendingSpend(
                job_id=r["id"],
                guild_id=r["guild_id"],
                user_id=int(r["user_id"]),
                created_at=float(r["created_at"]),
                estimated_cost=_price(r["estimated_cost"]),
            )
            for r in rows
        ]

    async def job_spend(
        self, guild_id: int | None, first_day: str, last_day: str | None = None
    ) -> list[JobSpend]:
        """Each finished job from ``first_day`` to ``last_day`` (a server's, or every one).

        Jobs that made images come from ``usage`` (so jobs from before prices are there, at an
        unknown cost); jobs that made none but were billed from ``spending`` alone.
        """
        last = last_day or "9999-12-31"
        # CAST: PostgreSQL must know a parameter's type, and a lone ``? IS NULL`` does not say.
        rows = await self.database.fetch_all(
            "SELECT u.guild_id, u.day, u.user_id, u.images, s.cost, s.currency FROM usage u"
            " LEFT JOIN spending s ON s.job_id = u.job_id"
            " WHERE (CAST(? AS BIGINT) IS NULL OR u.guild_id = ?) AND u.day >= ? AND u.day <= ?"
            " UNION ALL"
            " SELECT s.guild_id, s.day, s.user_id, s.images, s.cost, s.currency FROM spending s"
            " WHERE (CAST(? AS BIGINT) IS NULL OR s.guild_id = ?) AND s.day >= ? AND s.day <= ?"
            " AND NOT EXISTS (SELECT 1 FROM usage u WHERE u.job_id = s.job_id)",
            (guild_id, guild_id, first_day, last, guild_id, guild_id, first_day, last),
        )
        return [
            JobSpend(
                guild_id=int(r["guild_id"]),
                day=str(r["day"]),
                user_id=int(r["user_id"]),
                images=int(r["images"]),
                cost=_amount(r["cost"]),
                currency=r["currency"],
            )
            for r in rows
        ]

    async def all_member_defaults(self) -> dict[tuple[int, int], JobDefaults]:
        """Every member's own defaults, by (server, member)."""
        rows = await self.database.fetch_all(
            "SELECT guild_id, user_id, defaults FROM member_defaults"
        )
        found: dict[tuple[int, int], JobDefaults] = {}
        for row in rows:
            key = (int(row["guild_id"]), int(row["user_id"]))
            try:
                found[key] = JobDefaults.model_validate_json(row["defaults"])
            except ValueError:
                log.warning("member %s in guild %s: stored defaults are invalid", key[1], key[0])
        return found

    async def save_member_defaults(
        self, guild_id: int, user_id: int, defaults: JobDefaults | None
    ) -> None:
        """Store a member's defaults in a server (None or empty: forget them)."""
        if defaults is None or defaults.empty:
            await self.database.execute(
                "DELETE FROM member_defaults WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
            return
        await self.database.execute(
            "INSERT INTO member_defaults (guild_id, user_id, defaults, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
            " defaults = excluded.defaults, updated_at = excluded.updated_at",
            (guild_id, user_id, defaults.model_dump_json(exclude_none=True), time.time()),
        )
