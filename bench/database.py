"""Easel's database for a run: a SQLite file, or PostgreSQL (what shard processes share).

Without ``--database-url`` a throwaway PostgreSQL is started for the run (the tests' helper,
``tests/support/postgres.py``: its own initdb/pg_ctl cluster on 127.0.0.1, deleted afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bench.models import BenchConfig


@contextlib.asynccontextmanager
async def bench_database(config: BenchConfig, workdir: Path) -> AsyncIterator[str | None]:
    """Yield the DATABASE_URL the bot processes use (None for the floor, which has none)."""
    if config.floor:
        yield None
        return
    if config.store == "sqlite":
        yield f"sqlite:///{workdir}/easel.sqlite3"
        return
    if config.database_url is not None:
        yield config.database_url
        return
    # Imported here: only PostgreSQL runs need the test helper (and asyncpg).
    from tests.support.postgres import create_database, throwaway_server

    with contextlib.ExitStack() as stack:
        # initdb and pg_ctl block for seconds: not on the loop that runs the local Discord.
        server = await asyncio.to_thread(stack.enter_context, throwaway_server())
        try:
            yield await create_database(server)
        finally:
            await asyncio.to_thread(stack.close)
