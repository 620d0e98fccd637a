"""Where Easel keeps its state: one root, ``DATA_DIR``, for everything that must survive.

Under it: the SQLite database (unless ``DATABASE_URL`` names another place), the stored job
images (``files/``), the fingerprint of the last command sync and the backups taken before a
schema upgrade. In the container image the root is the ``/data`` volume, and nothing may land
outside it: a relative path there resolves inside the container's own filesystem, which
``docker rm`` (every upgrade) throws away.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from bot.errors import ConfigError

SQLITE = "sqlite:///"
DATABASE_FILE = "easel.sqlite3"  # in DATA_DIR unless DATABASE_URL names another
FILES_DIR = "files"  # job inputs and results (bot.store.files)
FINGERPRINT_FILE = "commands.sha256"  # the slash commands last synced
BACKUPS_DIR = "backups"  # taken before a schema upgrade (bot.store.backup)
LOCAL_DATA_DIR = Path("data")
CONTAINER_DATA_DIR = Path("/data")  # the image's volume (Dockerfile)
CONTAINER_WORKDIR = Path("/home/easel")  # where a relative path lands in the image


def data_root(data_dir: Path | None, database_url: str, *, in_container: bool) -> Path:
    """DATA_DIR; else ``/data`` in the container; else the folder of an explicit SQLite
    ``DATABASE_URL`` (where earlier versions kept the images, so they stay found); else
    ``data/``."""
    if data_dir is not None:
        return data_dir
    if in_container:
        return CONTAINER_DATA_DIR
    if database_url.startswith(SQLITE):
        return Path(database_url.removeprefix(SQLITE)).parent
    return LOCAL_DATA_DIR


def checked_database_url(url: str) -> str:
    """``DATABASE_URL`` as given (stripped), or ValueError saying what it may be: empty (the
    database in DATA_DIR), ``sqlite:///PATH``, or PostgreSQL for several processes."""
    url = url.strip()
    if not url or (url.startswith(SQLITE) and len(url) > len(SQLITE)):
        return url
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        if not rest:
            raise ValueError("needs a host and a database: postgresql://USER:PASS@HOST/DB")
        try:
            urlsplit(url).port  # noqa: B018 - read to check it (never echoed: a secret)
        except ValueError:
            raise ValueError("has a port that is not a number from 0 to 65535") from None
        return url
    raise ValueError(
        f"must be {SQLITE}PATH (or empty: easel.sqlite3 in DATA_DIR) for one process, or "
        "postgresql://USER:PASSWORD@HOST:PORT/DATABASE for several"
    )


def default_database_url(root: Path) -> str:
    """The SQLite database in the data root."""
    return f"{SQLITE}{root / DATABASE_FILE}"


class StatePaths(NamedTuple):
    """Everything Easel writes, by what it is."""

    root: Path
    database: Path | None  # None: not a file (a database server)
    files: Path
    fingerprint: Path
    backups: Path

    @classmethod
    def of(cls, root: Path, database: Path | None) -> StatePaths:
        """The paths under ``root``, with the database file where it is."""
        return cls(root, database, root / FILES_DIR, root / FINGERPRINT_FILE, root / BACKUPS_DIR)

    def absolute(self) -> StatePaths:
        """The same paths made absolute (for the start-up log line)."""
        return StatePaths(
            self.root.absolute(),
            None if self.database is None else self.database.absolute(),
            self.files.absolute(),
            self.fingerprint.absolute(),
            self.backups.absolute(),
        )


def check_container_paths(root: Path, database: Path | None) -> None:
    """Refuse state outside the volume inside the container: a relative DATA_DIR, or a
    relative SQLite ``DATABASE_URL`` (what ``.env.example`` once said)."""
    if not root.is_absolute():
        raise ConfigError(
            "DATA_DIR",
            f"is the relative path {str(root)!r}, which inside the container is not on the "
            f"{CONTAINER_DATA_DIR} volume: remove it (the image uses {CONTAINER_DATA_DIR}) or "
            "give an absolute path on a volume.",
        )
    if database is not None and not database.is_absolute():
        target = root / DATABASE_FILE
        raise ConfigError(
            "DATABASE_URL",
            f"names the relative path {str(database)!r}, which inside the container is "
            f"{CONTAINER_WORKDIR / database}, outside the {root} volume, and would be lost with "
            f"the container: remove the line (the database then is {target}) or write "
            f"{SQLITE}{target}.",
        )
