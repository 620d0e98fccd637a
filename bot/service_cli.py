"""Command line for hosts: ``healthcheck`` (the container's probe), ``backup`` and ``restore``.

``backup`` runs beside the bot (an online, consistent copy); ``restore`` runs with the bot
stopped. Both use the same data directory as the bot (``DATA_DIR``, ``DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.error
import urllib.request
from pathlib import Path

import humanize

from bot.about import git_commit, version
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.store.backup import BackupError, restore_backup, write_backup
from bot.store.database import latest_version

EXIT_FAILED = 1
HEALTHCHECK_TIMEOUT = 5.0  # seconds; the image's HEALTHCHECK allows a little more
ANY_ADDRESS = {"", "0.0.0.0", "*"}  # noqa: S104 - names the wildcard, binds nothing


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``healthcheck``, ``backup`` and ``restore``."""
    subparsers.add_parser(
        "healthcheck",
        help="exit 0 when the running bot's /healthz answers (the container's health probe)",
        description="GET /healthz of the bot running on this machine (HTTP_HOST, HTTP_PORT): "
        "exit 0 when it answers 200, else 1 with the reason.",
    )
    backup = subparsers.add_parser(
        "backup",
        help="copy the database and the stored images, safely while the bot runs",
        description="A consistent online copy of the SQLite database (SQLite's backup API) and "
        "the stored images, into a new folder or a .tar.gz file.",
    )
    backup.add_argument("path", type=Path, help="a new folder, or a file ending in .tar.gz")
    restore = subparsers.add_parser(
        "restore",
        help="put a backup back into the data directory (stop the bot first)",
        description="Restore a backup (folder or .tar.gz) into DATA_DIR. An existing database "
        "or stored images are replaced only with --force, and kept in DATA_DIR/replaced-<time>/.",
    )
    restore.add_argument(
        "path",
        type=Path,
        help="a backup folder or .tar.gz file, or a .sqlite3 copy from DATA_DIR/backups/ "
        "(the database alone)",
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the data that is there (it is moved aside, not deleted)",
    )


def probe_url(settings: Settings) -> str:
    """Where the health server of a bot with these settings answers on this machine."""
    host = settings.http_host.strip()
    if host in ANY_ADDRESS:
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}/healthz"


def probe() -> int:
    """``python -m bot healthcheck``: load the settings the bot runs with, then probe it. Exit 1
    on any problem, a setting's included: Docker reserves 2."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"unhealthy: configuration error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return healthcheck(settings)


def healthcheck(settings: Settings) -> int:
    """0 when ``/healthz`` answers 200, else 1 (Docker reserves 2); one line either way."""
    if settings.http_port == 0:
        print(
            "unhealthy: HTTP_PORT=0 turns the health server off, so there is nothing to probe "
            "(set HTTP_PORT, or turn the container's health check off)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    url = probe_url(settings)
    try:
        with urllib.request.urlopen(url, timeout=HEALTHCHECK_TIMEOUT) as response:  # noqa: S310 - http to this machine, built from settings
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"unhealthy: cannot reach {url}: {reason}", file=sys.stderr)
        return EXIT_FAILED
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return EXIT_FAILED
    print(f"healthy: {url} answered 200")
    return 0


async def backup(settings: Settings, path: Path) -> int:
    """Back up the database and the stored images to ``path``; print what was saved."""
    paths = settings.state_paths
    if paths.database is None:
        print(
            "error: DATABASE_URL is PostgreSQL: back it up with its own tools (pg_dump) and copy "
            f"{paths.files} beside it; this command copies a SQLite database.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        manifest = await asyncio.to_thread(
            write_backup,
            paths.database,
            paths.files,
            path,
            version=version(),
            commit=git_commit(settings),
        )
    except (BackupError, OSError) as exc:
        print(f"error: backup failed: {_reason(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"backed up {paths.database} (schema {manifest.schema_version}) and "
        f"{manifest.files} stored file(s) ({humanize.naturalsize(manifest.file_bytes)}) to {path}"
    )
    return 0


async def restore(settings: Settings, path: Path, *, force: bool) -> int:
    """Restore the backup at ``path`` into the data directory; print what came back."""
    paths = settings.state_paths
    if paths.database is None:
        print(
            "error: DATABASE_URL is PostgreSQL: restore it with its own tools (pg_restore); "
            "this command restores a SQLite database.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        restored = await asyncio.to_thread(
            restore_backup,
            path,
            database=paths.database,
            files=paths.files,
            root=paths.root,
            known_schema=latest_version(),
            force=force,
        )
    except (BackupError, OSError) as exc:
        print(f"error: restore failed: {_reason(exc)}", file=sys.stderr)
        return EXIT_FAILED
    made = restored.manifest
    if made is None:
        print(
            f"restored the database copy {path} (schema {restored.schema}) to "
            f"{paths.database.absolute()}; the stored files were left as they are"
        )
    else:
        print(
            f"restored the backup of {made.created_at:%Y-%m-%d %H:%M} UTC (Easel "
            f"{made.easel_version}, commit {made.git_commit}, schema {made.schema_version}, "
            f"{made.files} stored file(s)) into {paths.root.absolute()}"
        )
    if restored.set_aside is not None:
        print(f"the data that was there is kept in {restored.set_aside.absolute()}")
    print("start the bot: it resumes the jobs that were unfinished when the backup was taken")
    return 0


def _reason(exc: Exception) -> str:
    if isinstance(exc, BackupError):
        return exc.for_operator()
    return str(exc)
