"""Upgrades: a database is copied before it is migrated, and one from a newer Easel is refused."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.store.backup import schema_version
from bot.store.database import Database, SchemaTooNewError, latest_version, migrations
from tests.support.cli import run_cli


def database_at(path: Path, version: int) -> None:
    """A database migrated by an older Easel: the migrations up to ``version`` only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL)")
        for number, name, sql in migrations():
            if number <= version:
                db.executescript(sql)
                db.execute("INSERT INTO schema_version VALUES (?, ?)", (number, name))
        db.commit()


async def test_an_existing_database_is_backed_up_before_it_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "data" / "easel.sqlite3"
    older = latest_version() - 1
    database_at(path, older)

    async with Database.open(path) as database:
        assert await database.version() == latest_version()

    (copy,) = (tmp_path / "data" / "backups").glob("*.sqlite3")
    assert copy.name.startswith(f"easel-schema{older}-")
    assert schema_version(copy) == older


async def test_a_new_or_current_database_makes_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "data" / "easel.sqlite3"
    async with Database.open(path):
        pass
    async with Database.open(path):
        pass
    assert not (tmp_path / "data" / "backups").exists()


async def test_a_database_from_a_newer_easel_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "easel.sqlite3"
    newer = latest_version() + 2
    database_at(path, latest_version())
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO schema_version VALUES (?, 'from the future')", (newer,))

    with pytest.raises(SchemaTooNewError) as caught:
        async with Database.open(path):
            pass

    assert str(caught.value) == (
        f"DATABASE_URL: this database was upgraded by a newer Easel (schema {newer}, this "
        f"version knows {latest_version()}); run that version or restore a backup "
        "(README: Backup)."
    )
    assert schema_version(path) == newer


async def test_the_bot_exits_2_with_one_line_on_a_database_from_a_newer_easel(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "easel.sqlite3"
    database_at(path, latest_version())
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO schema_version VALUES (?, 'x')", (latest_version() + 1,))
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "DISCORD_TOKEN": "MTEx.some-token.abcdefgh",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # never reached: the database stops it
        "IMAGE_PROVIDER": "sandbox",
        "HTTP_PORT": "0",
    }

    code, _, stderr = await run_cli(env=env, tmp_path=tmp_path)

    assert code == 2, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("configuration error: DATABASE_URL: this database was upgraded by")
    assert "Traceback" not in stderr
