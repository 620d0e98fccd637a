"""PostgreSQL upgrades: pg_dump before a schema upgrade when it is installed, a plain warning when
it is not, and a failed dump stops the upgrade without ever showing the password."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import asyncpg
import pytest

from bot.errors import ConfigError
from bot.store.database import Database, SchemaTooNewError, latest_version, migrations
from tests.support.cli import run_cli

PASSWORD = "s3cret-pass"  # the test server trusts every login; the password only travels


async def postgres_at(url: str, version: int) -> None:
    """A database migrated by an older Easel: the migrations up to ``version`` only."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL)"
        )
        for number, name, sql in migrations("postgres"):
            if number <= version:
                await connection.execute(sql)
                await connection.execute("INSERT INTO schema_version VALUES ($1, $2)", number, name)
    finally:
        await connection.close()


async def version_of(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT MAX(version) FROM schema_version"))
    finally:
        await connection.close()


async def test_an_existing_database_is_dumped_before_it_is_upgraded(
    postgres_url: str, tmp_path: Path
) -> None:
    older = latest_version() - 1
    await postgres_at(postgres_url, older)
    async with Database.open(postgres_url, backups=tmp_path / "backups") as database:
        assert await database.version() == latest_version()
    (dump,) = (tmp_path / "backups").glob("*.pgdump")
    assert dump.name.startswith(f"easel-schema{older}-")
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format, for pg_restore
    assert not list((tmp_path / "backups").glob("*.part"))


async def test_a_new_or_current_database_is_not_dumped(postgres_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        async with Database.open(postgres_url, backups=tmp_path / "backups"):
            pass
    assert not (tmp_path / "backups").exists()


async def test_without_pg_dump_the_upgrade_goes_on_and_says_what_to_do(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await postgres_at(postgres_url, latest_version() - 1)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with caplog.at_level(logging.WARNING, logger="bot.store.pg_dump"):
        async with Database.open(postgres_url, backups=tmp_path / "backups") as database:
            assert await database.version() == latest_version()
    assert "pg_dump is not on PATH" in caplog.text and "back PostgreSQL up" in caplog.text


async def test_a_failed_dump_stops_the_upgrade_and_never_shows_the_password(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = latest_version() - 1
    await postgres_at(postgres_url, older)
    bin_dir, seen = tmp_path / "bin", tmp_path / "seen"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {seen}.args\n'
        f'echo "$PGPASSWORD" > {seen}.password\n'
        'echo "pg_dump: error: server version mismatch (password $PGPASSWORD)" >&2\n'
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    url = postgres_url.replace("easel@", f"easel:{PASSWORD}@")

    with pytest.raises(ConfigError) as caught:
        async with Database.open(url, backups=tmp_path / "backups"):
            pass

    assert caught.value.setting == "DATABASE_BACKUP_BEFORE_UPGRADE"
    assert "server version mismatch" in str(caught.value) and PASSWORD not in str(caught.value)
    assert PASSWORD not in Path(f"{seen}.args").read_text()  # never on a command line
    assert Path(f"{seen}.password").read_text().strip() == PASSWORD
    assert await version_of(postgres_url) == older  # not upgraded without its backup


async def test_a_database_from_a_newer_easel_is_refused_untouched(
    postgres_url: str, tmp_path: Path
) -> None:
    newer = latest_version() + 2
    await postgres_at(postgres_url, latest_version())
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute("INSERT INTO schema_version VALUES ($1, 'from the future')", newer)
    finally:
        await connection.close()

    with pytest.raises(SchemaTooNewError) as caught:
        async with Database.open(postgres_url, backups=tmp_path / "backups"):
            pass

    assert caught.value.setting == "DATABASE_URL" and f"schema {newer}" in str(caught.value)
    assert await version_of(postgres_url) == newer
    assert not (tmp_path / "backups").exists()


async def test_the_backup_command_says_plainly_that_postgresql_is_backed_up_with_pg_dump(
    tmp_path: Path,
) -> None:
    url = "postgresql://easel:hunter2@127.0.0.1:9/easel"  # never reached
    code, out, err = await run_cli(
        "backup", str(tmp_path / "copy"), env={"DATABASE_URL": url}, tmp_path=tmp_path
    )
    assert code != 0 and "pg_dump" in err and "SQLite" in err
    assert "hunter2" not in out + err
    assert not (tmp_path / "copy").exists()  # nothing that looks like a backup
