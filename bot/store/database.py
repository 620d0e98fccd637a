"""The SQLite connection and its schema migrations.

One connection per process (aiosqlite runs it on its own thread, so queries never block the
event loop). Migrations are numbered SQL files applied in order at start; the applied version is
kept in ``schema_version``. A PostgreSQL backend would implement the same domain protocols
(``bot.jobs.ports``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import ConfigError
from bot.store.backup import backup_before_upgrade

log = logging.getLogger(__name__)

MEMORY = ":memory:"


def migrations() -> list[tuple[int, str, str]]:
    """The bundled migrations as (version, name, sql), in order."""
    folder = resources.files("bot.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    """The schema version this code migrates a database to."""
    return max((version for version, _, _ in migrations()), default=0)


class SchemaTooNewError(ConfigError):
    """The database was migrated by a newer Easel: running older code on it would corrupt it."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            "DATABASE_URL",
            f"this database was upgraded by a newer Easel (schema {found}, this version knows "
            f"{known}); run that version or restore a backup (README: Backup).",
        )


def check_schema(found: int, known: int | None = None) -> None:
    """Refuse a database newer than this code (any backend)."""
    known = latest_version() if known is None else known
    if found > known:
        raise SchemaTooNewError(found, known)


class Database:
    """A migrated SQLite database with a few typed helpers."""

    def __init__(self, connection: aiosqlite.Connection, path: Path | None = None) -> None:
        self.connection = connection
        self.path = path  # the file (None: in memory)

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Database]:
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

    async def version(self) -> int:
        """The schema version applied so far."""
        await self.connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER NOT NULL, name TEXT NOT NULL)"
        )
        async with self.connection.execute("SELECT MAX(version) FROM schema_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self) -> None:
        """Apply every migration newer than the database, each in its own transaction, after
        a copy of an existing database is saved; refuse a database newer than the code."""
        current = await self.version()
        check_schema(current)
        pending = [migration for migration in migrations() if migration[0] > current]
        if pending and current > 0 and self.path is not None:  # an existing database
            saved = await asyncio.to_thread(backup_before_upgrade, self.path, current)
            log.info("backed up the database (schema %d) to %s before upgrading it", current, saved)
        for version, name, sql in pending:
            log.info("applying migration %s", name)
            await self.connection.executescript(
                f"BEGIN;\n{sql}\nINSERT INTO schema_version VALUES ({version}, '{name}');\nCOMMIT;"
            )

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement and commit; returns the number of rows changed."""
        async with self.connection.execute(sql, tuple(params)) as cursor:
            changed = cursor.rowcount
        await self.connection.commit()
        return changed

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Rows of a query."""
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a query, or None."""
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()
