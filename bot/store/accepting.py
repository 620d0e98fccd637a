"""One batch of acceptances in one transaction: lock the scopes involved, read every process's
usage and spending once, decide each job in order in Python, write the granted ones with one
statement per table (``bot.store.batch`` forms the batches).

Each granted job counts for the next one of the same member or server in the batch, exactly as
if they had been reserved one after the other. A refused job gets its own exception; nothing of
it is written, and the others go on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.policy.acceptance import Acceptance, QuotaClaim, SpendClaim
from bot.policy.budget import Spending, Spent, local_month
from bot.policy.rules import Usage
from bot.store.job_rows import insert_job
from bot.store.sql import Database, Transaction


def _marks(values: Sequence[Any]) -> str:
    """``?, ?, ?`` for an ``IN`` list of ``values``."""
    return ", ".join("?" for _ in values)


def utc_range(day: str, *, month: bool) -> tuple[float, float]:
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


def lock_keys(batch: Iterable[Acceptance]) -> set[str]:
    """The advisory locks a batch takes: each server's quota, each budget it holds money of."""
    keys: set[str] = set()
    for acceptance in batch:
        if acceptance.quota is not None:
            keys.add(f"easel:quota:{acceptance.quota.reservation.scope}")
        if (spend := acceptance.spend) is not None:
            keys.add("easel:budget" if spend.everywhere else f"easel:budget:{spend.hold.scope}")
    return keys


class QuotaBook:
    """Images used and reserved per member and per server, and members' last jobs, as every
    process left them, then as the batch's granted jobs change them."""

    def __init__(self) -> None:
        self.member: defaultdict[tuple[int, str, int], int] = defaultdict(int)
        self.server: defaultdict[tuple[int, str], int] = defaultdict(int)
        self.last: dict[tuple[int, int], float] = {}

    def usage(self, claim: QuotaClaim) -> Usage:
        """What ``claim``'s decision sees."""
        held = claim.reservation
        return Usage(
            member_images=self.member[(held.scope, held.day, held.user_id)],
            server_images=self.server[(held.scope, held.day)],
            last_job_at=self.last.get((held.scope, held.user_id)),
        )

    def grant(self, claim: QuotaClaim) -> None:
        """Count a granted claim for the jobs after it."""
        held = claim.reservation
        self.member[(held.scope, held.day, held.user_id)] += held.images
        self.server[(held.scope, held.day)] += held.images
        self.last[(held.scope, held.user_id)] = claim.at

    @classmethod
    async def read(cls, tx: Transaction, claims: Sequence[QuotaClaim], ids: list[str]) -> QuotaBook:
        """Every process's usage and reservations of the claims' members and servers on their
        days, and the members' last jobs, in one query (the batch's own jobs left out)."""
        book = cls()
        if not claims:
            return book
        scopes = sorted({claim.reservation.scope for claim in claims})
        days = sorted({claim.reservation.day for claim in claims})
        users = sorted({claim.reservation.user_id for claim in claims})
        s, d, u, b = _marks(scopes), _marks(days), _marks(users), _marks(ids)
        rows = await tx.fetch_all(
            f"SELECT 'm' AS kind, guild_id AS scope, day, user_id, SUM(images) AS amount"  # noqa: S608 - placeholders only
            f" FROM usage WHERE guild_id IN ({s}) AND day IN ({d}) AND user_id IN ({u})"
            " GROUP BY guild_id, day, user_id"
            f" UNION ALL SELECT 's', guild_id, day, 0, SUM(images) FROM usage"
            f" WHERE guild_id IN ({s}) AND day IN ({d}) GROUP BY guild_id, day"
            f" UNION ALL SELECT 'm', scope, day, user_id, SUM(images) FROM reservations"
            f" WHERE scope IN ({s}) AND day IN ({d}) AND user_id IN ({u}) AND job_id NOT IN ({b})"
            " GROUP BY scope, day, user_id"
            f" UNION ALL SELECT 's', scope, day, 0, SUM(images) FROM reservations"
            f" WHERE scope IN ({s}) AND day IN ({d}) AND job_id NOT IN ({b}) GROUP BY scope, day"
            f" UNION ALL SELECT 'l', scope, '', user_id, MAX(at) FROM last_jobs"
            f" WHERE scope IN ({s}) AND user_id IN ({u}) GROUP BY scope, user_id",
            [
                *(*scopes, *days, *users, *scopes, *days),
                *(*scopes, *days, *users, *ids, *scopes, *days, *ids),
                *(*scopes, *users),
            ],
        )
        for row in rows:
            scope, day, user = int(row["scope"]), str(row["day"]), int(row["user_id"])
            if row["kind"] == "m":
                book.member[(scope, day, user)] += int(row["amount"])
            elif row["kind"] == "s":
                book.server[(scope, day)] += int(row["amount"])
            elif row["amount"] is not None:
                book.last[(scope, user)] = float(row["amount"])
        return book


class SpendCounters:
    """Money spent and held per member, server and host (each by day and by month) in one
    currency, as every process left it, then as the batch's granted holds add to it."""

    def __init__(self) -> None:
        self.amounts: defaultdict[tuple[str | int, ...], Decimal] = defaultdict(Decimal)

    def spending(self, claim: SpendClaim) -> Spending:
        """What ``claim``'s decision sees (the host's only for a budget covering every server)."""
        hold, get = claim.hold, self.amounts.__getitem__
        month, host_month = local_month(hold.day), local_month(hold.host_day)
        return Spending(
            member=Spent(
                get(("md", hold.scope, hold.user_id, hold.day)),
                get(("mm", hold.scope, hold.user_id, month)),
            ),
            server=Spent(get(("sd", hold.scope, hold.day)), get(("sm", hold.scope, month))),
            host=Spent(get(("hd", hold.host_day)), get(("hm", host_month)))
            if claim.everywhere
            else Spent(),
        )

    def grant(self, claim: SpendClaim) -> None:
        """Count a granted hold for the jobs after it."""
        hold = claim.hold
        self.add("m", hold.scope, hold.user_id, hold.day, hold.amount)
        self.add("s", hold.scope, 0, hold.day, hold.amount)
        self.amounts[("hd", hold.host_day)] += hold.amount
        self.amounts[("hm", local_month(hold.host_day))] += hold.amount

    def add(self, kind: str, scope: int, user: int, day: str, amount: Decimal) -> None:
        """Count ``amount`` of one row of ``read``."""
        if kind == "m":
            self.amounts[("md", scope, user, day)] += amount
            self.amounts[("mm", scope, user, local_month(day))] += amount
        elif kind == "s":
            self.amounts[("sd", scope, day)] += amount
            self.amounts[("sm", scope, local_month(day))] += amount
        else:  # "hd" (a UTC day) or "hm" (a UTC month)
            self.amounts[(kind, day)] += amount

    @classmethod
    async def read(
        cls, tx: Transaction, dialect: str, claims: Sequence[SpendClaim], ids: list[str]
    ) -> SpendCounters:
        """What every process spent and holds, in ``claims``' currency, for their members and
        servers in their months, and (where a budget covers every server) for the host on
        their UTC days and months: one query (the batch's own jobs left out).

        PostgreSQL adds the decimal text up as ``NUMERIC``; SQLite has no exact decimal type,
        so there each group's amounts come back as text and are added up as ``Decimal``.
        """
        counters = cls()
        if not claims:
            return counters
        currency = claims[0].currency
        scopes = sorted({claim.hold.scope for claim in claims})
        users = sorted({claim.hold.user_id for claim in claims})
        months = sorted({local_month(claim.hold.day) for claim in claims})
        host_days = sorted({claim.hold.host_day for claim in claims if claim.everywhere})
        host_months = sorted({local_month(day) for day in host_days})
        s, u, m, b = _marks(scopes), _marks(users), _marks(months), _marks(ids)

        def total(column: str) -> str:
            if dialect == "postgres":
                return f"SUM(CAST({column} AS NUMERIC))"
            return f"GROUP_CONCAT({column}, ' ')"

        branches: list[str] = []
        params: list[Any] = []
        for table, scope, money, only in (
            ("spending", "guild_id", "cost", "cost IS NOT NULL AND "),
            ("spend_holds", "scope", "amount", ""),
        ):
            rows = f"FROM {table} WHERE {only}currency = ? AND job_id NOT IN ({b})"
            branches.append(
                f"SELECT 'm' AS kind, {scope} AS scope, user_id, day, {total(money)} AS total"
                f" {rows} AND {scope} IN ({s}) AND user_id IN ({u})"
                f" AND substr(day, 1, 7) IN ({m}) GROUP BY {scope}, user_id, day"
            )
            params += [currency, *ids, *scopes, *users, *months]
            branches.append(
                f"SELECT 's', {scope}, 0, day, {total(money)} {rows} AND {scope} IN ({s})"
                f" AND substr(day, 1, 7) IN ({m}) GROUP BY {scope}, day"
            )
            params += [currency, *ids, *scopes, *months]
            for kind, periods in (("hd", host_days), ("hm", host_months)):
                for period in periods:
                    values: list[Any] = [period]
                    if table == "spending":
                        first = period if kind == "hd" else f"{period}-01"
                        where = "accepted_at >= ? AND accepted_at < ?"
                        values = list(utc_range(first, month=kind == "hm"))
                    else:
                        column = "host_day" if kind == "hd" else "substr(host_day, 1, 7)"
                        where = f"{column} = ?"
                    branches.append(
                        f"SELECT '{kind}', 0, 0, CAST(? AS TEXT), {total(money)} {rows} AND {where}"
                    )
                    params += [period, currency, *ids, *values]
        for row in await tx.fetch_all(" UNION ALL ".join(branches), params):
            value = row["total"]
            if value is None:
                continue
            amount = (
                Decimal(value)
                if dialect == "postgres"
                else sum((Decimal(part) for part in str(value).split()), Decimal(0))
            )
            counters.add(
                str(row["kind"]), int(row["scope"]), int(row["user_id"]), str(row["day"]), amount
            )
        return counters


async def write_batch(
    tx: Transaction, database: Database, batch: Sequence[Acceptance]
) -> list[Exception | None]:
    """Decide and write ``batch`` in ``tx``: each acceptance's outcome, in order (None:
    written; else the exception its decision raised, and nothing of it written).

    May run again if the transaction is retried: it only reads, decides and writes ``tx``.
    """
    ids = [acceptance.job_id for acceptance in batch]
    if keys := lock_keys(batch):
        await tx.lock_all(keys)
    quotas = QuotaBook()
    if claims := [a.quota for a in batch if a.quota is not None]:
        quotas = await QuotaBook.read(tx, claims, ids)
    books: dict[str, SpendCounters] = {}
    deciding = [a.spend for a in batch if a.spend is not None and a.spend.decide is not None]
    for currency in sorted({claim.currency for claim in deciding}):
        same = [claim for claim in deciding if claim.currency == currency]
        books[currency] = await SpendCounters.read(tx, database.dialect, same, ids)
    outcomes: list[Exception | None] = []
    granted: list[Acceptance] = []
    for acceptance in batch:
        quota, spend = acceptance.quota, acceptance.spend
        book = books.setdefault(spend.currency, SpendCounters()) if spend is not None else None
        try:
            if quota is not None:
                quota.decide(quotas.usage(quota))
            if spend is not None and spend.decide is not None and book is not None:
                spend.decide(book.spending(spend))
        except Exception as refusal:  # noqa: BLE001 - it is this job's answer, not the batch's
            outcomes.append(refusal)
            continue
        if quota is not None:
            quotas.grant(quota)
        if spend is not None and book is not None:
            book.grant(spend)
        outcomes.append(None)
        granted.append(acceptance)
    await _write(tx, database, granted)
    return outcomes


def lone_record(
    database: Database, batch: Sequence[Acceptance]
) -> tuple[str, tuple[Any, ...]] | None:
    """The one statement of a batch that is a single job record with nothing to decide (a quiet
    bot, a command-line job), which needs no transaction of its own; else None."""
    if len(batch) != 1:
        return None
    (only,) = batch
    if only.job is None or only.quota is not None or only.spend is not None:
        return None
    return insert_job(database.now, only.job, only.lease)


async def _write(tx: Transaction, database: Database, granted: Sequence[Acceptance]) -> None:
    """Insert the granted acceptances' rows: one statement per table (per kind of job row)."""
    quotas = [a.quota for a in granted if a.quota is not None]
    if quotas:
        await tx.execute_many(
            "INSERT INTO reservations (job_id, scope, day, user_id, images, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
            [
                (q.reservation.job_id, q.reservation.scope, q.reservation.day,
                 q.reservation.user_id, q.reservation.images, q.at)
                for q in quotas
            ],
        )  # fmt: skip
        await tx.execute_many(
            "INSERT INTO last_jobs (scope, user_id, at) VALUES (?, ?, ?)"
            " ON CONFLICT (scope, user_id) DO UPDATE SET at = excluded.at",
            [(q.reservation.scope, q.reservation.user_id, q.at) for q in quotas],
        )
    if spends := [a.spend for a in granted if a.spend is not None]:
        now = time.time()
        await tx.execute_many(
            "INSERT INTO spend_holds (job_id, scope, user_id, day, host_day, amount,"
            " currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (job_id) DO NOTHING",
            [
                (c.hold.job_id, c.hold.scope, c.hold.user_id, c.hold.day, c.hold.host_day,
                 str(c.hold.amount), c.currency, now)
                for c in spends
            ],
        )  # fmt: skip
    statements: dict[str, list[tuple[Any, ...]]] = {}
    for acceptance in granted:
        if acceptance.job is not None:
            sql, values = insert_job(database.now, acceptance.job, acceptance.lease)
            statements.setdefault(sql, []).append(values)
    for sql, rows in statements.items():
        await tx.execute_many(sql, rows)
