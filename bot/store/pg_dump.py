"""PostgreSQL backups with PostgreSQL's own tool: ``pg_dump``, restored with ``pg_restore``.

Easel does not copy a PostgreSQL database itself (the server, its replicas and its operator's
backups own that); before a schema upgrade it runs ``pg_dump`` when it is on PATH, so an
upgrade that goes wrong can be undone, and says plainly when it cannot. The password never
reaches the command line (other users could read it there): it goes in ``PGPASSWORD``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.errors import ConfigError
from bot.store.backup import PARTIAL, BackupError, stamp
from bot.store.sql import hide_password, redact

log = logging.getLogger(__name__)

SUFFIX = ".pgdump"  # pg_dump's custom format: pg_restore reads it


def without_password(url: str) -> tuple[str, str | None]:
    """``url`` as libpq reads it (no ``+asyncpg``), without its password; and the password."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    if parts.password is None:
        return urlunsplit(parts), None
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host)), unquote(parts.password)


async def dump(url: str, target: Path, *, executable: str = "pg_dump") -> None:
    """Write the database at ``url`` to ``target`` in pg_dump's custom format (complete or not
    at all: written under a temporary name); ``BackupError`` with pg_dump's own words."""
    dsn, password = without_password(url)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + PARTIAL)
    process = await asyncio.create_subprocess_exec(
        executable,
        "--format=custom",
        f"--file={partial}",
        f"--dbname={dsn}",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        partial.unlink(missing_ok=True)
        said = hide_password(errors.decode(errors="replace").strip(), url)
        raise BackupError(f"pg_dump of {redact(url)} failed ({process.returncode}): {said}")
    partial.replace(target)


async def backup_before_upgrade(url: str, folder: Path, schema: int) -> Path | None:
    """A pg_dump of the database (at ``schema``) in ``folder`` before migrations; None (and a
    warning saying what to do) when pg_dump is not installed."""
    executable = shutil.which("pg_dump")
    if executable is None:
        log.warning(
            "pg_dump is not on PATH, so no copy of the database (schema %d) was taken before "
            "upgrading it: back PostgreSQL up with pg_dump before upgrading Easel (README: "
            "Backup)",
            schema,
        )
        return None
    target = folder / f"easel-schema{schema}-{stamp()}{SUFFIX}"
    try:
        await dump(url, target, executable=executable)
    except (BackupError, OSError) as exc:
        raise ConfigError(
            "DATABASE_BACKUP_BEFORE_UPGRADE",
            f"the database was not upgraded, because its backup failed: {exc}. Fix that (a "
            "pg_dump at least as new as the server), or back it up yourself and set this to "
            "false for the upgrade",
        ) from exc
    return target
