"""What both backends share: the ``Database`` base, rows and transactions, migrations, URLs.

The backends (``bot.store.sqlite``, ``bot.store.postgres``) build on this module, and
``bot.store.database`` ties them together behind ``Database.open``. Every statement is written
once for both: ``?`` placeholders, portable SQL, and the few differences as attributes of the
backend (``now``, ``skip_locked``, ``lock``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from bot.errors import ConfigError

log = logging.getLogger(__name__)

MEMORY = ":memory:"
Dialect = Literal["sqlite", "postgres"]
T = TypeVar("T")
Opener = Callable[..., AbstractAsyncContextManager["Database"]]


class Row(Protocol):
    """A result row: columns by name (or position)."""

    def __getitem__(self, key: Any, /) -> Any:
        """One column's value."""
        ...


class Statements(Protocol):
    """What both the database and an open transaction run."""

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query."""
        ...

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        ...


class Transaction(Statements, Protocol):
    """Statements that commit together (or not at all)."""

    async def lock(self, key: str) -> None:
        """Hold ``key`` until the transaction ends: concurrent holders of it run one at a time."""
        ...

    async def lock_all(self, keys: Iterable[str]) -> None:
        """``lock`` every key, in one order every process shares (so two never deadlock)."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement once per row of parameters, in one round trip where it can."""
        ...


def migrations(dialect: Dialect = "sqlite") -> list[tuple[int, str, str]]:
    """The bundled migrations as (version, name, sql) for ``dialect``, in order."""
    folder = resources.files("bot.store") / "migrations"
    portable: dict[int, tuple[str, str]] = {}
    special: dict[int, str] = {}
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        version = int(name.split("_", 1)[0])
        if name.endswith(".postgres.sql"):
            special[version] = entry.read_text(encoding="utf-8")
        elif version in portable:
            raise RuntimeError(f"two migrations numbered {version}: {portable[version][0]}, {name}")
        else:
            portable[version] = (name, entry.read_text(encoding="utf-8"))
    if orphans := sorted(set(special) - set(portable)):
        raise RuntimeError(f"PostgreSQL migrations {orphans} have no portable .sql beside them")
    return [
        (version, name, special[version] if dialect == "postgres" and version in special else sql)
        for version, (name, sql) in sorted(portable.items())
    ]


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


def is_postgres_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://…``)."""
    return isinstance(target, str) and target.split(":", 1)[0] in _POSTGRES_SCHEMES


_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}


def redact(url: str) -> str:
    """``url`` with its password replaced, for logs and messages (even a malformed one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]  # as written: a bad port must not stop the redaction
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def hide_password(text: str, url: str) -> str:
    """``text`` (a driver's or a tool's message) with ``url``'s password replaced."""
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


class Database(ABC):
    """A migrated database and the few ways its SQL differs per backend."""

    dialect: ClassVar[Dialect]
    shared: ClassVar[bool]  # other processes may use it at the same time
    now: ClassVar[str]  # an SQL expression: the database's clock, in unix seconds
    skip_locked: ClassVar[str]  # appended to a SELECT that claims rows for this process

    # How ``open`` reaches the backends: set by ``bot.store.database``, which imports them (they
    # import this module, so it cannot import them itself).
    opener: ClassVar[Opener | None] = None

    @classmethod
    def open(
        cls,
        target: str | Path,
        *,
        pool_size: int = 10,
        reconnect_for: float = 60.0,
        backups: Path | None = None,
    ) -> AbstractAsyncContextManager[Database]:
        """Open (creating what is missing), migrate, and close on exit.

        ``target`` is a SQLite file path (or ``:memory:``), ``sqlite:///PATH``, or a
        ``postgresql://`` URL; ``pool_size``, ``reconnect_for`` and ``backups`` (pg_dump's
        folder before a schema upgrade) apply to PostgreSQL.
        """
        if Database.opener is None:
            raise RuntimeError("import bot.store.database to open a database")
        return Database.opener(
            target, pool_size=pool_size, reconnect_for=reconnect_for, backups=backups
        )

    @abstractmethod
    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement and commit; returns the number of rows changed."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of a query."""

    @abstractmethod
    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of a query, or None."""

    @abstractmethod
    async def transaction(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction and return its result.

        ``work`` may run more than once (after a lost connection or a serialization failure),
        so it must only talk to the database, not change anything outside it.
        """

    @abstractmethod
    async def version(self) -> int:
        """The schema version applied so far."""

    @abstractmethod
    async def migrate(self) -> None:
        """Apply every migration newer than the database, each in its own transaction."""

    async def clock(self) -> float:
        """The database's time in unix seconds (one clock for every process)."""
        row = await self.fetch_one(f"SELECT {self.now} AS now")
        assert row is not None
        return float(row["now"])
