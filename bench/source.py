"""Where the measured code comes from: a checkout, or one commit of it (``--at``)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import platform
import tarfile
from pathlib import Path

from bench.procs import ProcessFailed


async def git(source: Path, *args: str) -> str:
    """Output of a git command in ``source`` ("" if it failed)."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(source),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    return out.decode().strip() if proc.returncode == 0 else ""


async def git_describe(source: Path, at: str | None) -> str:
    """``<short sha>``, noting uncommitted changes when the working tree itself runs."""
    sha = await git(source, "rev-parse", "--short", f"{at or 'HEAD'}^{{commit}}")
    if not sha:
        return "not a git checkout"
    if at is not None:
        return f"{sha} (git archive)"
    dirty = await git(source, "status", "--porcelain", "--untracked-files=no")
    return f"{sha} + uncommitted changes in the working tree" if dirty else sha


async def export_commit(source: Path, rev: str, target: Path) -> Path:
    """``git archive rev`` unpacked into ``target``: the exact tree of that commit."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(source),
        "archive",
        "--format=tar",
        rev,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    tar, err = await proc.communicate()
    if proc.returncode != 0:
        raise ProcessFailed(f"could not export {rev} from {source}: {err.decode().strip()}")
    await asyncio.to_thread(_untar, tar, target)
    return target


def _untar(data: bytes, target: Path) -> None:
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse links and absolute paths
            archive.extractall(target, filter="data")
        else:  # pragma: no cover - older 3.11; the archive is our own repository's
            archive.extractall(target)  # noqa: S202


def cpu_model() -> str:
    """The CPU's model name (Linux), for the record."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
