"""Backups: a consistent copy of a live WAL database and the stored files; restores that never
destroy what was there."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.store.backup import (
    BackupError,
    Manifest,
    backup_before_upgrade,
    restore_backup,
    schema_version,
    write_backup,
)
from bot.store.database import Database, latest_version


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Database]:
    """An open database in WAL mode with rows only its -wal file holds yet, and stored files."""
    async with Database.open(tmp_path / "data" / "easel.sqlite3") as database:
        await database.execute("PRAGMA wal_autocheckpoint=0")  # keep the rows in the -wal
        await database.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, detail TEXT)")
        for number in range(3):
            await database.execute("INSERT INTO probe (detail) VALUES (?)", (f"row {number}",))
        files = tmp_path / "data" / "files"
        (files / "job1").mkdir(parents=True)
        (files / "job1" / "result_1.png").write_bytes(b"png-bytes")
        (files / "job1" / "result_2.png.part").write_bytes(b"half")  # being written
        yield database


def rows(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT detail FROM probe ORDER BY id")]


def backup(tmp_path: Path, target: Path) -> Manifest:
    data = tmp_path / "data"
    return write_backup(
        data / "easel.sqlite3", data / "files", target, version="1.2.3", commit="abc123"
    )


async def test_a_live_wal_database_is_copied_whole_with_its_files(
    live: Database, tmp_path: Path
) -> None:
    assert (tmp_path / "data" / "easel.sqlite3-wal").stat().st_size > 0

    manifest = backup(tmp_path, tmp_path / "backup")

    copy = tmp_path / "backup"
    assert rows(copy / "easel.sqlite3") == ["row 0", "row 1", "row 2"]
    assert (copy / "files" / "job1" / "result_1.png").read_bytes() == b"png-bytes"
    assert not (copy / "files" / "job1" / "result_2.png.part").exists()
    assert (manifest.files, manifest.file_bytes) == (1, len(b"png-bytes"))
    assert manifest.schema_version == latest_version()
    on_disk = json.loads((copy / "manifest.json").read_text())
    assert (on_disk["easel_version"], on_disk["git_commit"]) == ("1.2.3", "abc123")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "data"]  # no leftovers


async def test_a_tar_gz_backup_holds_the_same(live: Database, tmp_path: Path) -> None:
    manifest = backup(tmp_path, tmp_path / "easel.tar.gz")

    with tarfile.open(tmp_path / "easel.tar.gz") as archive:
        names = set(archive.getnames())
        manifest_file = archive.extractfile("manifest.json")
        assert manifest_file is not None
        assert Manifest.model_validate_json(manifest_file.read()) == manifest
    assert names == {"manifest.json", "easel.sqlite3", "files/job1/result_1.png"}


async def test_a_backup_never_overwrites(live: Database, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "something").write_text("keep me")

    with pytest.raises(BackupError, match="already exists"):
        backup(tmp_path, tmp_path / "taken")

    assert (tmp_path / "taken" / "something").read_text() == "keep me"


def test_a_missing_database_fails_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path, tmp_path / "out.tar.gz")
    assert list(tmp_path.iterdir()) == []


def restore(tmp_path: Path, source: Path, *, into: str = "restored", force: bool = False) -> Path:
    root = tmp_path / into
    restore_backup(
        source,
        database=root / "easel.sqlite3",
        files=root / "files",
        root=root,
        known_schema=latest_version(),
        force=force,
    )
    return root


@pytest.mark.parametrize("name", ["backup", "backup.tar.gz"])
async def test_a_backup_restores_into_an_empty_data_dir(
    live: Database, tmp_path: Path, name: str
) -> None:
    backup(tmp_path, tmp_path / name)

    root = restore(tmp_path, tmp_path / name)

    assert sorted(p.name for p in root.iterdir()) == ["easel.sqlite3", "files"]
    assert rows(root / "easel.sqlite3") == ["row 0", "row 1", "row 2"]
    assert (root / "files" / "job1" / "result_1.png").read_bytes() == b"png-bytes"
    assert (tmp_path / name).exists()  # the backup is left as it was


async def test_restoring_over_data_needs_force_and_keeps_what_was_there(
    live: Database, tmp_path: Path
) -> None:
    backup(tmp_path, tmp_path / "backup")
    root = tmp_path / "other"
    (root / "files" / "old").mkdir(parents=True)
    (root / "files" / "old" / "image.png").write_bytes(b"old")
    sqlite3.connect(root / "easel.sqlite3").close()

    with pytest.raises(BackupError, match="--force"):
        restore(tmp_path, tmp_path / "backup", into="other")
    assert (root / "files" / "old" / "image.png").read_bytes() == b"old"

    restore(tmp_path, tmp_path / "backup", into="other", force=True)

    assert rows(root / "easel.sqlite3") == ["row 0", "row 1", "row 2"]
    (aside,) = root.glob("replaced-*")
    assert (aside / "files" / "old" / "image.png").read_bytes() == b"old"
    assert (aside / "easel.sqlite3").is_file()


async def test_a_backup_from_a_newer_easel_is_refused(live: Database, tmp_path: Path) -> None:
    backup(tmp_path, tmp_path / "backup")
    with closing(sqlite3.connect(tmp_path / "backup" / "easel.sqlite3")) as db, db:
        db.execute("INSERT INTO schema_version VALUES (?, 'future.sql')", (latest_version() + 1,))

    with pytest.raises(BackupError, match="newer Easel"):
        restore(tmp_path, tmp_path / "backup")
    assert not (tmp_path / "restored" / "easel.sqlite3").exists()


async def test_a_damaged_backup_is_refused_before_anything_changes(
    live: Database, tmp_path: Path
) -> None:
    backup(tmp_path, tmp_path / "backup")
    (tmp_path / "backup" / "easel.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)

    with pytest.raises(BackupError, match="damaged"):
        restore(tmp_path, tmp_path / "backup")
    assert not (tmp_path / "restored" / "easel.sqlite3").exists()


def test_a_folder_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    with pytest.raises(BackupError, match="not an Easel backup"):
        restore(tmp_path, tmp_path / "photos")


def test_an_archive_cannot_write_outside_the_data_dir(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as archive:
        data = b"owned"
        info = tarfile.TarInfo("../../outside.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))

    with pytest.raises(BackupError, match="Cannot read the backup"):
        restore(tmp_path, evil)
    assert not (tmp_path / "outside.txt").exists()


async def test_the_schema_of_a_copy_is_read_from_it(live: Database, tmp_path: Path) -> None:
    backup(tmp_path, tmp_path / "backup")
    assert schema_version(tmp_path / "backup" / "easel.sqlite3") == await live.version()


async def test_a_pre_upgrade_copy_restores_the_database_alone(
    live: Database, tmp_path: Path
) -> None:
    copy = backup_before_upgrade(tmp_path / "data" / "easel.sqlite3", 3)
    assert copy.parent == tmp_path / "data" / "backups"
    root = tmp_path / "other"
    (root / "files" / "job9").mkdir(parents=True)
    (root / "files" / "job9" / "result_1.png").write_bytes(b"newer job")
    sqlite3.connect(root / "easel.sqlite3").close()

    with pytest.raises(BackupError, match="--force"):
        restore(tmp_path, copy, into="other")
    restore(tmp_path, copy, into="other", force=True)

    assert rows(root / "easel.sqlite3") == ["row 0", "row 1", "row 2"]
    assert (root / "files" / "job9" / "result_1.png").read_bytes() == b"newer job"
    (aside,) = root.glob("replaced-*")
    assert [p.name for p in aside.iterdir()] == ["easel.sqlite3"]
