"""SQLite, the embedded default: one file, one process, nothing to run beside the bot.

One connection per process (aiosqlite runs it on its own thread, so queries never block the
event loop). A lock keeps each statement or transaction whole: without it, a coroutine's commit
could also commit another's half-done transaction on the shared connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.backup import backup_before_upgrade
from bot.store.sql import MEMORY, Database, Row, T, Transaction, check_schema, migrations

log = logging.getLogger(__name__)


class _Statements:
    """Statements on the connection, committed by whoever holds the lock."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def _execute(self, sql: str, params: Iterable[Any]) -> int:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return int(cursor.rowcount)

    async def _fetch_all(self, sql: str, params: Iterable[Any]) -> list[Row]:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def _fetch_one(self, sql: str, params: Iterable[Any]) -> Row | None:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            row: Row | None = await cursor.fetchone()
            return row


class _SqliteTransaction(_Statements):
    """An open ``BEGIN IMMEDIATE`` transaction: the only writer until it ends."""

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement inside the transaction."""
        return await self._execute(sql, params)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query, seeing the transaction's own changes."""
        return await self._fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        return await self._fetch_one(sql, params)

    async def lock(self, key: str) -> None:
        """Nothing to do: an immediate transaction already excludes every other writer."""

    async def lock_all(self, keys: Iterable[str]) -> None:
        """Nothing to do either (see ``lock``)."""

    async def execute_many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement per row of parameters."""
        async with self.connection.executemany(sql, [tuple(row) for row in rows]):
            pass


class SqliteDatabase(_Statements, Database):
    """A migrated SQLite file (or ``:memory:``)."""

    dialect = "sqlite"
    shared = False
    now = "((julianday('now') - 2440587.5) * 86400.0)"
    skip_locked = ""

    def __init__(self, connection: aiosqlite.Connection, path: Path | None = None) -> None:
        super().__init__(connection)
        self.path = path  # the file (None: in memory)
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def connect(cls, path: Path | str) -> AsyncIterator[SqliteDatabase]:
        """Open (creating folders and the file), migrate, and close on exit."""
        if str(path) != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path))
        connection.row_factory = aiosqlite.Row
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            database = cls(connection, None if str(path) == MEMORY else Path(path))
            await database.migrate()
            yield database
        finally:
            await connection.close()

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement and commit; returns the number of rows changed."""
        async with self._lock:
            changed = await self._execute(sql, params)
            await self.connection.commit()
            return changed

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query (committed when it wrote them: ``UPDATE … RETURNING``)."""
        async with self._lock:
            rows = await self._fetch_all(sql, params)
            if self.connection.in_transaction:
                await self.connection.commit()
            return rows

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        async with self._lock:
            row = await self._fetch_one(sql, params)
            if self.connection.in_transaction:
                await self.connection.commit()
            return row

    async def transaction(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run ``work`` in one immediate transaction; roll back if it raises."""
        async with self._lock:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                result = await work(_SqliteTransaction(self.connection))
            except BaseException:
                await self.connection.rollback()
                raise
            await self.connection.commit()
            return result

    async def version(self) -> int:
        """The schema version applied so far."""
        async with self._lock:
            await self.connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version INTEGER NOT NULL, name TEXT NOT NULL)"
            )
            row = await self._fetch_one("SELECT MAX(version) FROM schema_version", ())
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self) -> None:
        """Apply every migration newer than the database, each in its own transaction, after
        a copy of an existing database is saved; refuse a database newer than the code."""
        current = await self.version()
        check_schema(current)
        pending = [migration for migration in migrations("sqlite") if migration[0] > current]
        if pending and current > 0 and self.path is not None:  # an existing database
            saved = await asyncio.to_thread(backup_before_upgrade, self.path, current)
            log.info("backed up the database (schema %d) to %s before upgrading it", current, saved)
        for version, name, sql in pending:
            log.info("applying migration %s", name)
            async with self._lock:
                await self.connection.executescript(
                    f"BEGIN;\n{sql}\n"
                    f"INSERT INTO schema_version VALUES ({version}, '{name}');\nCOMMIT;"
                )
