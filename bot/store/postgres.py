"""PostgreSQL, the shared store of a scaled-out Easel: several processes, one database.

asyncpg, not an ORM: the stores already speak plain SQL to SQLite, asyncpg is the fastest and
most direct PostgreSQL driver for asyncio, and its pool is all the connection management Easel
needs. A statement that meets a lost connection (a restarted or failed-over server, a network
blip) is tried again on a fresh one with backoff, for up to ``reconnect_for`` seconds; only then
does the caller see ``StoreUnavailableError``. Every write the stores send is safe to repeat
(upserts, conditional updates), so a retry after a reply was lost changes nothing twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import SecretStr

from bot.errors import ConfigError
from bot.jobs.ports import StoreUnavailableError
from bot.store.pg_dump import backup_before_upgrade
from bot.store.sql import (
    Database,
    Row,
    T,
    Transaction,
    check_schema,
    hide_password,
    migrations,
    redact,
)

log = logging.getLogger(__name__)

# Errors that mean "the connection is gone or the server cannot serve right now": try again.
RECONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    asyncio.TimeoutError,  # connecting took too long
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.ConnectionDoesNotExistError,  # the connection closed mid-operation
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,  # stopped by an administrator (a restart)
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# A transaction that lost a race (serialization failure, deadlock) is run again as a whole.
RETRY_TRANSACTION_ERRORS = (asyncpg.TransactionRollbackError,)
CLOSE_GRACE = 10.0  # seconds a closing pool waits for connections still in use
MIGRATION_LOCK = 0x45_61_73_65_6C  # "Easel": one process migrates, the others wait for it


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders (the stores' dialect) as PostgreSQL's ``$1, $2, …``.

    Question marks inside quoted strings are left alone.
    """
    counter = iter(range(1, 10_000))
    return re.sub(
        r"'(?:[^']|'')*'|\?",
        lambda match: match.group(0) if match.group(0) != "?" else f"${next(counter)}",
        sql,
    )


def count_changed(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Connection:
    """Statements on one pooled connection (a transaction's, or a single statement's)."""

    def __init__(self, connection: PoolConnectionProxy[asyncpg.Record]) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return count_changed(await self._connection.execute(numbered(sql), *params))

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query."""
        return list(await self._connection.fetch(numbered(sql), *params))

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        row: Row | None = await self._connection.fetchrow(numbered(sql), *params)
        return row

    async def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock on ``key`` (released at commit or rollback)."""
        await self._connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)

    async def lock_all(self, keys: Iterable[str]) -> None:
        """Advisory locks on every key in one statement, taken in the order of their hashes
        (the lock ids), so two processes locking overlapping sets never deadlock."""
        await self._connection.execute(
            "SELECT pg_advisory_xact_lock(id) FROM (SELECT DISTINCT hashtextextended(key, 0) AS id"
            " FROM unnest($1::text[]) AS key ORDER BY id) AS ids",
            sorted(set(keys)),
        )

    async def execute_many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """One statement for every row of parameters, pipelined in one round trip."""
        await self._connection.executemany(numbered(sql), [tuple(row) for row in rows])


class PostgresDatabase(Database):
    """A migrated PostgreSQL database behind an asyncpg pool that survives restarts."""

    dialect = "postgres"
    shared = True
    now = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        *,
        reconnect_for: float,
        backups: Path | None = None,
    ) -> None:
        self.pool = pool
        self.url = redact(url)  # for messages
        self._secret_url = SecretStr(url)  # for pg_dump only
        self.reconnect_for = reconnect_for
        self.backups = backups  # pg_dump before a schema upgrade goes here (None: no dump)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        reconnect_for: float = 60.0,
        backups: Path | None = None,
    ) -> AsyncIterator[PostgresDatabase]:
        """Connect (waiting with backoff while the server is not up yet), migrate (after a
        pg_dump into ``backups`` when the database exists and is older), close on exit."""
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            pool = await _retry(
                lambda: asyncpg.create_pool(
                    dsn, min_size=min_size, max_size=max_size, command_timeout=60
                ),
                what=f"connecting to {redact(url)}",
                seconds=reconnect_for,
            )
        except StoreUnavailableError as exc:
            # At start, a database that cannot be reached or refuses us is the setting's fault
            # more often than not: say which setting, and why (never the password).
            raise ConfigError(
                "DATABASE_URL",
                f"PostgreSQL at {redact(url)} stayed unreachable for {reconnect_for:g}s "
                f"({exc.__cause__!r}); is it running, and are host and port right?",
            ) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            said = hide_password(str(exc), url)  # a driver may quote what it could not read
            raise ConfigError("DATABASE_URL", f"PostgreSQL at {redact(url)} said: {said}") from exc
        try:
            database = cls(pool, url, reconnect_for=reconnect_for, backups=backups)
            await database.migrate()
            yield database
        finally:
            await _close(pool)

    async def _run(self, work: Callable[[_Connection], Awaitable[T]], what: str) -> T:
        async def attempt() -> T:
            async with self.pool.acquire() as connection:
                return await work(_Connection(connection))

        return await _retry(attempt, what=what, seconds=self.reconnect_for)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement (committed on its own); returns the number of rows changed."""
        values = tuple(params)
        return await self._run(lambda c: c.execute(sql, values), "a write")

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query."""
        values = tuple(params)
        return await self._run(lambda c: c.fetch_all(sql, values), "a query")

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        values = tuple(params)
        return await self._run(lambda c: c.fetch_one(sql, values), "a query")

    async def transaction(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction, again as a whole after a lost race or connection."""

        async def attempt() -> T:
            async with self.pool.acquire() as connection, connection.transaction():
                return await work(_Connection(connection))

        return await _retry(
            attempt,
            what="a transaction",
            seconds=self.reconnect_for,
            also=RETRY_TRANSACTION_ERRORS,
        )

    async def version(self) -> int:
        """The schema version applied so far."""
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER NOT NULL, name TEXT NOT NULL)"
        )
        row = await self.fetch_one("SELECT MAX(version) AS version FROM schema_version")
        return int(row["version"]) if row and row["version"] is not None else 0

    async def migrate(self) -> None:
        """Apply newer migrations, each in a transaction; one process at a time does it."""

        async def work(connection: PoolConnectionProxy[asyncpg.Record]) -> None:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version"
                    " (version INTEGER NOT NULL, name TEXT NOT NULL)"
                )
                current = await connection.fetchval("SELECT MAX(version) FROM schema_version")
                check_schema(current or 0)  # a newer Easel's database is never touched
                pending = [m for m in migrations("postgres") if m[0] > (current or 0)]
                if pending and current and self.backups is not None:  # an existing database
                    url = self._secret_url.get_secret_value()
                    saved = await backup_before_upgrade(url, self.backups, current)
                    if saved is not None:
                        log.info("backed up the database (schema %d) to %s", current, saved)
                for version, name, sql in pending:
                    log.info("applying migration %s (PostgreSQL)", name)
                    async with connection.transaction():
                        await connection.execute(sql)
                        await connection.execute(
                            "INSERT INTO schema_version VALUES ($1, $2)", version, name
                        )
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

        async def attempt() -> None:
            async with self.pool.acquire() as connection:
                await work(connection)

        await _retry(attempt, what="migrating", seconds=self.reconnect_for)


async def _close(pool: asyncpg.Pool, *, grace: float = CLOSE_GRACE) -> None:
    """Close the pool, waiting a little for connections still in use, then cutting them.

    ``Pool.close`` waits for every connection to come back; one held by a task that was
    cancelled mid-query (a stop, a lost lease) must not keep the process from exiting.
    """
    try:
        await asyncio.wait_for(pool.close(), grace)
    except TimeoutError:
        log.warning("PostgreSQL connections still busy after %.0fs; closing them", grace)
        pool.terminate()


async def _retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    seconds: float,
    also: tuple[type[BaseException], ...] = (),
) -> T:
    """``attempt()`` until it works, backing off on connection errors for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    failures = 0
    while True:
        try:
            result = await attempt()
        except (*RECONNECT_ERRORS, *also) as exc:
            failures += 1
            if time.monotonic() + delay > deadline:
                raise StoreUnavailableError(
                    f"PostgreSQL unreachable for {seconds:.0f}s during {what}: {exc!r}"
                ) from exc
            if failures == 1:
                log.warning("PostgreSQL: %s failed (%r); reconnecting", what, exc)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, 2.0)
            continue
        if failures:
            log.info("PostgreSQL: %s succeeded after %d retries", what, failures)
        return result
