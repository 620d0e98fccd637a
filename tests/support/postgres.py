"""A throwaway PostgreSQL server for the tests: its own initdb/pg_ctl cluster on 127.0.0.1.

One server per test session (``postgres_server``), in a temporary directory, on a free port,
stopped and deleted at the end; each test that asks for ``postgres_url`` gets a fresh database
in it. The server binaries come from Debian's ``postgresql`` package (``python3 dev.py test``
installs it when missing). initdb refuses to run as root, so as root the cluster belongs to the
``postgres`` system user (or ``nobody``).

Without the binaries the tests fail loudly: a store contract that silently ran on one backend
only would prove nothing. ``EASEL_SKIP_POSTGRES=1`` skips them on purpose instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

SKIP_VARIABLE = "EASEL_SKIP_POSTGRES"
ADMIN_USER = "easel"


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: ``pg_config --bindir``, Debian's layout, or PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(found))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(path) for path in versions]
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in ``root``, listening on 127.0.0.1:``port`` only."""

    def __init__(self, bindir: Path, root: Path, port: int, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.root = root
        self.port = port
        self.data = root / "data"
        self.log = root / "server.log"
        self._user: pwd.struct_passwd | None = _unprivileged_user() if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        """A connection URL for ``database`` on this server (trust auth, no password)."""
        return f"postgresql://{ADMIN_USER}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        """Create the cluster (once)."""
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self._run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                ADMIN_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",  # the OS keeps what the server wrote; only its crash loses it
                f"-c synchronous_commit={'on' if self.durable else 'off'}",
                "-c full_page_writes=off",
                "-c max_connections=300",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "--pgdata",
                str(self.data),
                "--log",
                str(self.log),
                "--options",
                options,
                "--wait",
                "--timeout",
                "60",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` drops every connection like a crash)."""
        self._run(
            [str(self.bindir / "pg_ctl"), "--pgdata", str(self.data), "--mode", mode, "stop"],
            check=False,
        )

    def restart(self, mode: str = "immediate") -> None:
        """Stop and start again: every open connection is cut."""
        self.stop(mode)
        self.start()

    def _run(self, command: list[str], *, check: bool = True) -> None:
        extra: dict[str, Any] = {}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        if self._user is not None:
            extra = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
            env["HOME"] = str(self.root)
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=self.root, **extra
        )
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}\n{log}"
            )


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and no 'postgres' or 'nobody' user to run initdb as")


@contextlib.contextmanager
def throwaway_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A started server in a temporary directory; stopped and removed on exit.

    ``durable`` commits synchronously, so a test may crash the server (``restart``) without
    losing what was committed; the shared server skips that for speed.
    """
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL's server binaries (initdb, pg_ctl) were not found. Install Debian's "
            "`postgresql` package (`python3 dev.py test` does it when run as root), or set "
            f"{SKIP_VARIABLE}=1 to skip the PostgreSQL half of the store tests."
        )
    root = Path(tempfile.mkdtemp(prefix="easel-pg-"))
    server = PostgresServer(bindir, root, free_port(), durable=durable)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


async def create_database(server: PostgresServer) -> str:
    """A new empty database on ``server``; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.url(name)


async def drop_database(server: PostgresServer, url: str) -> None:
    """Remove a test's database, cutting whatever connections it left open."""
    name = url.rsplit("/", 1)[1]
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        admin = await asyncpg.connect(server.url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL for the whole session (skipped only with EASEL_SKIP_POSTGRES=1)."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: PostgreSQL tests skipped on purpose")
    with throwaway_server() as server:
        yield server


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    url = await create_database(postgres_server)
    try:
        yield url
    finally:
        await drop_database(postgres_server, url)
