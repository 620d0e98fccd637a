"""The database the stores run on: embedded SQLite (the default) or shared PostgreSQL.

``DATABASE_URL`` picks it: a SQLite file for one process, PostgreSQL when several processes
(shards, machines) share the work. The stores speak one small SQL dialect to both: ``?``
placeholders, portable statements, and the few differences as attributes of the backend
(``now``, ``skip_locked``, ``lock``): see ``bot.store.sql``.

Migrations are numbered SQL files applied in order at start, one list of versions for both
backends: ``NNN_name.sql`` is portable, and ``NNN_name.postgres.sql`` beside it replaces it on
PostgreSQL where the two must differ (column types of the first tables). The applied version is
kept in ``schema_version``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.store.postgres import PostgresDatabase
from bot.store.sql import (
    MEMORY,
    Database,
    Row,
    SchemaTooNewError,
    Statements,
    Transaction,
    check_schema,
    is_postgres_url,
    latest_version,
    migrations,
    redact,
)
from bot.store.sqlite import SqliteDatabase

__all__ = [
    "MEMORY",
    "Database",
    "Row",
    "SchemaTooNewError",
    "Statements",
    "Transaction",
    "check_schema",
    "is_postgres_url",
    "latest_version",
    "migrations",
    "open_database",
    "redact",
]

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_database(
    target: str | Path,
    *,
    pool_size: int = 10,
    reconnect_for: float = 60.0,
    backups: Path | None = None,
) -> AsyncIterator[Database]:
    """Open (creating what is missing), migrate, and close on exit.

    ``target`` is a SQLite file path (or ``:memory:``), ``sqlite:///PATH``, or a
    ``postgresql://`` URL; ``pool_size``, ``reconnect_for`` and ``backups`` (where pg_dump
    writes before a schema upgrade; None: no dump) apply to PostgreSQL. A SQLite file is
    always copied beside itself before an upgrade.
    """
    if is_postgres_url(target):
        async with PostgresDatabase.connect(
            str(target), max_size=pool_size, reconnect_for=reconnect_for, backups=backups
        ) as database:
            log.info("database: PostgreSQL at %s", redact(str(target)))
            yield database
        return
    path = str(target).removeprefix("sqlite:///")
    async with SqliteDatabase.connect(path) as sqlite:
        if path != MEMORY:
            log.info("database: SQLite at %s", path)
        yield sqlite


Database.opener = open_database  # ``Database.open`` works wherever Database is imported
