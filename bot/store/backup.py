"""Backups of Easel's state: the SQLite database and the stored job images, and their restore.

The database is copied with SQLite's online backup API, never as a file: in WAL mode the file
alone misses what the ``-wal`` beside it holds, and a copy taken while the bot writes can be
torn. The API reads one consistent snapshot while the bot keeps running. The images are copied
after it, so every image the snapshot's jobs name was written before it and is in the copy
(images of jobs newer than the snapshot are harmless extras).

A backup is a folder, or one ``.tar.gz`` file, holding ``manifest.json`` (version, schema,
counts), ``easel.sqlite3`` and ``files/``. It is written under a temporary name and renamed
when complete, so a path that exists is a whole backup. Everything here blocks: callers run it
in a thread.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import tarfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ValidationError

from bot.errors import EaselError
from bot.state_paths import BACKUPS_DIR

MANIFEST = "manifest.json"
DATABASE = "easel.sqlite3"
FILES = "files"
FORMAT = 1
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
PARTIAL = ".part"  # a file being written (bot.store.files) or a backup being made
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's companions of a database file
BUSY_MS = 10_000  # wait this long for a writer to let the snapshot start


class BackupError(EaselError):
    """A backup or restore cannot be done; the message says why and what to do."""


class Manifest(BaseModel):
    """What a backup holds, written beside it as ``manifest.json``."""

    format: int = FORMAT
    created_at: datetime
    easel_version: str
    git_commit: str
    schema_version: int
    files: int
    file_bytes: int


class Restored(NamedTuple):
    """What a restore brought back, and where the state it replaced was moved (if any)."""

    manifest: Manifest | None  # None: a bare database copy (no manifest)
    schema: int
    set_aside: Path | None


def is_archive(path: Path) -> bool:
    """Whether ``path`` names a ``.tar.gz`` backup rather than a folder."""
    return path.name.endswith(ARCHIVE_SUFFIXES)


def stamp(moment: datetime | None = None) -> str:
    """A sortable UTC time for file names: ``20260502T101403Z``."""
    return (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def copy_database(source: Path, target: Path) -> int:
    """A consistent copy of the SQLite database ``source`` at ``target`` (online, safe under
    WAL while the bot runs); returns the copy's schema version."""
    if not source.is_file():
        raise BackupError(f"There is no database at {source}: nothing to back up.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source, timeout=BUSY_MS / 1000)) as reader,
        closing(sqlite3.connect(target)) as writer,
    ):
        reader.backup(writer)  # one step: one read transaction, one snapshot
        writer.commit()
    return schema_version(target)


def schema_version(path: Path) -> int:
    """The schema version recorded in a database file (0: none applied)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        except sqlite3.DatabaseError:
            return 0
    return int(row[0]) if row and row[0] is not None else 0


def _stored_files(root: Path) -> Iterator[Path]:
    """Every complete stored file below ``root`` (half-written ``.part`` files skipped)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(PARTIAL):
            yield path


def write_backup(
    database: Path, files: Path, target: Path, *, version: str, commit: str
) -> Manifest:
    """Back up ``database`` and the ``files`` folder to ``target`` (a folder, or a ``.tar.gz``)."""
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise BackupError(f"{target} already exists: choose a new name (backups never overwrite).")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}{PARTIAL}")
    _remove(staging)
    staging.mkdir()
    try:
        schema = copy_database(database, staging / DATABASE)
        count, size = 0, 0
        if is_archive(target):
            with tarfile.open(staging / "archive", "w:gz") as archive:
                archive.add(staging / DATABASE, DATABASE)
                for path in _stored_files(files):
                    name = f"{FILES}/{path.relative_to(files).as_posix()}"
                    try:
                        info = archive.gettarinfo(path, name)
                        with path.open("rb") as handle:
                            archive.addfile(info, handle)
                    except FileNotFoundError:  # pruned by retention meanwhile
                        continue
                    count, size = count + 1, size + info.size
                manifest = _manifest(schema, count, size, version, commit)
                data = manifest.model_dump_json(indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime = len(data), int(manifest.created_at.timestamp())
                archive.addfile(info, io.BytesIO(data))
            (staging / "archive").replace(target)
            _remove(staging)
            return manifest
        for path in _stored_files(files):
            copy = staging / FILES / path.relative_to(files)
            copy.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, copy)
            except FileNotFoundError:
                continue
            count, size = count + 1, size + copy.stat().st_size
        manifest = _manifest(schema, count, size, version, commit)
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        if target.is_dir():
            target.rmdir()  # empty, checked above
        staging.rename(target)
        return manifest
    except BaseException:
        _remove(staging)
        raise


def _manifest(schema: int, count: int, size: int, version: str, commit: str) -> Manifest:
    return Manifest(
        created_at=datetime.now(UTC),
        easel_version=version,
        git_commit=commit,
        schema_version=schema,
        files=count,
        file_bytes=size,
    )


def read_manifest(folder: Path) -> Manifest:
    """The manifest of an unpacked backup, checked to be one this code can restore."""
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    except (OSError, ValidationError):
        raise BackupError(f"{folder} is not an Easel backup (no readable {MANIFEST}).") from None
    if manifest.format > FORMAT:
        raise BackupError(
            f"This backup was made by a newer Easel ({manifest.easel_version}, backup format "
            f"{manifest.format}): restore it with that version."
        )
    if not (folder / DATABASE).is_file():
        raise BackupError(f"The backup {folder} has no {DATABASE}.")
    return manifest


def unpack(source: Path, scratch: Path) -> Path:
    """The folder holding the backup's contents: ``source`` itself, or ``source`` (a
    ``.tar.gz``) extracted into ``scratch``."""
    if not source.exists():
        raise BackupError(f"There is no backup at {source}.")
    if not is_archive(source):
        return source
    scratch.mkdir(parents=True)
    try:
        with tarfile.open(source, "r:gz") as archive:
            archive.extractall(scratch, filter="data")  # no paths outside, no devices or links
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"Cannot read the backup {source}: {exc}") from None
    return scratch


def check_database(path: Path, known_schema: int) -> int:
    """Refuse a damaged database, or one of a newer schema than this code; its schema."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"The backup's database is damaged: {exc}.") from None
    if verdict != "ok":
        raise BackupError(f"The backup's database is damaged: {verdict}.")
    schema = schema_version(path)
    if schema > known_schema:
        raise BackupError(
            f"This backup comes from a newer Easel (schema {schema}, this version knows "
            f"{known_schema}): restore it with that version."
        )
    return schema


def existing_state(database: Path, files: Path | None) -> list[Path]:
    """What a restore would replace: the database (and its companions) and, unless ``files``
    is None, a non-empty files folder."""
    found = [p for p in (database, *_side_files(database)) if p.exists()]
    if files is not None and files.is_dir() and any(files.iterdir()):
        found.append(files)
    return found


def _side_files(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in SIDE_FILES]


def place_database(copy: Path, database: Path, *, move: bool) -> None:
    """Put a checked database copy at ``database``; ``move`` when the copy is a scratch one."""
    database.parent.mkdir(parents=True, exist_ok=True)
    incoming = database.with_name(database.name + PARTIAL)
    if move:
        shutil.move(copy, incoming)
    else:
        shutil.copy2(copy, incoming)
    for stale in _side_files(database):
        stale.unlink(missing_ok=True)  # a stale -wal would be replayed over the restored file
    incoming.replace(database)


def place_files(source: Path, files: Path, *, move: bool) -> None:
    """Make ``files`` hold what ``source`` (a backup's ``files/``, maybe absent) holds."""
    _remove(files)
    files.parent.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        files.mkdir()
    elif move:
        shutil.move(source, files)
    else:
        shutil.copytree(source, files)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def backup_before_upgrade(database: Path, schema: int) -> Path:
    """A copy of ``database`` (at ``schema``) in ``backups/`` beside it, before migrations."""
    target = database.parent / BACKUPS_DIR / f"easel-schema{schema}-{stamp()}.sqlite3"
    copy_database(database, target)
    return target


def is_database_copy(path: Path) -> bool:
    """Whether ``path`` is a bare database file: the copy taken before a schema upgrade."""
    return path.name.endswith(".sqlite3") and path.is_file()


def restore_backup(
    source: Path, *, database: Path, files: Path, root: Path, known_schema: int, force: bool
) -> Restored:
    """Restore the backup at ``source`` into the data directory ``root``.

    ``source`` is a backup (folder or ``.tar.gz``), or a bare ``.sqlite3`` copy from
    ``backups/`` (the database alone comes back; the stored files stay). An existing database or
    stored files are only replaced with ``force``, and then moved to ``root/replaced-<time>/``,
    never deleted. The backup is checked (manifest, integrity, schema not newer than this code)
    before anything is touched.
    """
    only_database = is_database_copy(source)
    replaced = existing_state(database, None if only_database else files)
    if replaced and not force:
        names = ", ".join(str(path) for path in replaced)
        raise BackupError(
            f"The data directory already holds Easel data ({names}). Restore into an empty data "
            f"directory, or add --force to move what is there to {root}/replaced-<time>/ "
            "first. Stop the bot before restoring."
        )
    root.mkdir(parents=True, exist_ok=True)
    if only_database:
        schema = check_database(source, known_schema)
        aside = _set_aside(replaced, root)
        place_database(source, database, move=False)
        return Restored(None, schema, aside)
    scratch = root / f".restore-{stamp()}{PARTIAL}"
    try:
        contents = unpack(source, scratch)
        manifest = read_manifest(contents)
        schema = check_database(contents / DATABASE, known_schema)
        aside = _set_aside(replaced, root)
        moving = contents == scratch
        place_database(contents / DATABASE, database, move=moving)
        place_files(contents / FILES, files, move=moving)
    finally:
        _remove(scratch)
    return Restored(manifest, schema, aside)


def _set_aside(paths: list[Path], root: Path) -> Path | None:
    """Move ``paths`` into ``root/replaced-<time>/`` (kept, so a restore can be undone)."""
    if not paths:
        return None
    folder = root / f"replaced-{stamp()}"
    folder.mkdir(parents=True)
    for path in paths:
        shutil.move(path, folder / path.name)
    return folder
