"""The database layer: one migration history, the shared dialect, transactions, reconnection."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from bot.errors import ConfigError
from bot.jobs.models import JobRequest
from bot.jobs.ports import StoreUnavailableError
from bot.jobs.records import JobRecord, JobState
from bot.options import Resolution
from bot.store.database import Database, Transaction, is_postgres_url, migrations, redact
from bot.store.jobs import SqlJobStore
from bot.store.postgres import PostgresDatabase, _close, numbered
from tests.support.postgres import PostgresServer, create_database, free_port, throwaway_server


def test_both_backends_run_one_list_of_versions() -> None:
    sqlite, postgres = migrations("sqlite"), migrations("postgres")
    assert (
        [v for v, _, _ in sqlite] == [v for v, _, _ in postgres] == list(range(1, len(sqlite) + 1))
    )
    assert [name for _, name, _ in sqlite] == [name for _, name, _ in postgres]
    differing = [v for (v, _, a), (_, _, b) in zip(sqlite, postgres, strict=True) if a != b]
    assert 1 in differing and 2 in differing  # 64-bit ids and double-precision times
    assert "BIGINT" in postgres[0][2] and "AUTOINCREMENT" not in postgres[1][2]


def test_placeholders_become_numbered_outside_quoted_text() -> None:
    sql = "SELECT '?', a FROM t WHERE b = ? AND c = 'it''s ?' AND d IN (?, ?)"
    assert numbered(sql) == "SELECT '?', a FROM t WHERE b = $1 AND c = 'it''s ?' AND d IN ($2, $3)"


def test_a_password_never_appears_in_a_shown_url() -> None:
    assert (
        redact("postgresql://easel:s3cret@db:5432/easel") == "postgresql://easel:***@db:5432/easel"
    )
    assert redact("postgresql://db/easel") == "postgresql://db/easel"
    assert (
        redact("postgresql://easel:s3cret@db:54x2/easel") == "postgresql://easel:***@db:54x2/easel"
    )
    assert is_postgres_url("postgresql://db/easel") and is_postgres_url("postgres://db/x")
    assert not is_postgres_url("sqlite:///data/easel.sqlite3")


async def test_a_transaction_commits_whole_or_not_at_all(database: Database) -> None:
    store = SqlJobStore(database)

    async def half_done(tx: Transaction) -> None:
        await tx.execute("UPDATE jobs SET progress = 50 WHERE id = ?", ("a",))
        raise RuntimeError("interrupted")

    await store.add(_job("a"))
    with pytest.raises(RuntimeError):
        await database.transaction(half_done)
    loaded = await store.get("a")
    assert loaded is not None and loaded.progress == 0

    async def whole(tx: Transaction) -> int:
        await tx.execute("UPDATE jobs SET progress = 50 WHERE id = ?", ("a",))
        row = await tx.fetch_one("SELECT progress FROM jobs WHERE id = ?", ("a",))
        assert row is not None
        return int(row["progress"])

    assert await database.transaction(whole) == 50
    loaded = await store.get("a")
    assert loaded is not None and loaded.progress == 50


async def test_locked_transactions_on_one_key_run_one_at_a_time(database: Database) -> None:
    inside = 0
    most = 0

    async def critical(tx: Transaction) -> None:
        nonlocal inside, most
        await tx.lock("test:key")
        inside += 1
        most = max(most, inside)
        await tx.fetch_one("SELECT 1 AS one")
        await asyncio.sleep(0.02)
        inside -= 1

    await asyncio.gather(*(database.transaction(critical) for _ in range(6)))
    assert most == 1


async def test_the_database_clock_is_unix_seconds(database: Database) -> None:
    assert abs(await database.clock() - time.time()) < 5


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, free to be restarted."""
    with throwaway_server(durable=True) as server:
        yield server


@pytest.mark.usefixtures("postgres_server")  # skipped together with the shared server
async def test_operations_resume_after_the_server_restarts(own_server: PostgresServer) -> None:
    url = await create_database(own_server)
    async with PostgresDatabase.connect(url, reconnect_for=30) as database:
        store = SqlJobStore(database)
        job = _job("a", owner="me")
        await store.add(job, lease=60)
        await asyncio.to_thread(own_server.restart, "immediate")  # every connection is cut
        job.state = JobState.SUBMITTED
        await store.save(job)  # reconnects, then writes
        loaded = await store.get("a")
        assert loaded is not None and loaded.state is JobState.SUBMITTED

        # Down for a while: the call waits, retrying, and succeeds once the server is back.
        await asyncio.to_thread(own_server.stop, "immediate")

        async def start_later() -> None:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(own_server.start)

        restart = asyncio.create_task(start_later())
        job.progress = 40
        await store.save(job)
        await restart
        loaded = await store.get("a")
        assert loaded is not None and loaded.progress == 40


@pytest.mark.usefixtures("postgres_server")
async def test_a_server_gone_too_long_is_reported_not_hidden(own_server: PostgresServer) -> None:
    url = await create_database(own_server)
    async with PostgresDatabase.connect(url, reconnect_for=0.5) as database:
        await asyncio.to_thread(own_server.stop, "immediate")
        with pytest.raises(StoreUnavailableError) as caught:
            await SqlJobStore(database).get("a")
        assert "unreachable" in str(caught.value)
        await asyncio.to_thread(own_server.start)


def _job(job_id: str, owner: str = "") -> JobRecord:
    return JobRecord(
        id=job_id,
        owner=owner,
        request=JobRequest(prompt="fox"),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
        client_reference=f"easel-{job_id}",
    )


async def test_a_database_that_refuses_the_login_names_the_setting_not_the_password(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.url("no_such_database").replace("easel@", "easel:hunter2@")
    with pytest.raises(ConfigError) as caught:
        async with Database.open(url, reconnect_for=1):
            pass
    assert caught.value.setting == "DATABASE_URL" and "no_such_database" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_a_server_that_is_not_there_at_start_is_reported_after_the_retries() -> None:
    url = f"postgresql://easel:hunter2@127.0.0.1:{free_port()}/easel"
    with pytest.raises(ConfigError) as caught:
        async with Database.open(url, reconnect_for=0.3):
            pass
    assert "unreachable" in str(caught.value) and "hunter2" not in str(caught.value)


async def test_closing_never_waits_forever_for_a_connection_still_in_use(postgres_url: str) -> None:
    async with PostgresDatabase.connect(postgres_url) as database:
        held = await database.pool.acquire()  # e.g. a task cancelled mid-query kept it
        async with asyncio.timeout(5):
            await _close(database.pool, grace=0.2)
        assert database.pool.is_closing() and held is not None


async def test_the_password_never_reaches_the_log(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_url.replace("easel@", "easel:hunter2@")  # the test server ignores it
    unreachable = f"postgresql://easel:hunter2@127.0.0.1:{free_port()}/easel"
    with caplog.at_level(logging.DEBUG):
        async with Database.open(url) as database:
            await database.fetch_one("SELECT 1 AS one")
        with pytest.raises(ConfigError):
            async with Database.open(unreachable, reconnect_for=0.3):
                pass
    assert "database: PostgreSQL at" in caplog.text and "reconnecting" in caplog.text
    assert "hunter2" not in caplog.text
