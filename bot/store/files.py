"""Job files on disk: member inputs (Discord's URLs expire) and fitted results (ToAPIs' expire).

Kept under ``<data dir>/files/<job id>/``; all file work runs in threads.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path


class FileStore:
    """``bot.jobs.ports.JobFiles`` on disk: a job's files below one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def write(self, job_id: str, name: str, data: bytes) -> str:
        """Store ``data`` as ``name`` for the job; returns the path relative to the root."""
        relative = Path(_safe(job_id)) / _safe(name)
        await asyncio.to_thread(self._write, self.root / relative, data)
        return relative.as_posix()

    async def read(self, path: str) -> bytes:
        """The bytes of a stored file (FileNotFoundError when it was pruned)."""
        return await asyncio.to_thread((self.root / path).read_bytes)

    async def delete_job(self, job_id: str) -> None:
        """Remove every file of a job."""
        await asyncio.to_thread(shutil.rmtree, self.root / _safe(job_id), True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary name of this writer's own: two processes may write one job's file at once
        # (one that lost the job's lease and its successor); each rename is whole, either wins.
        temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.part")
        temporary.write_bytes(data)
        temporary.replace(path)  # a crash never leaves half a file under the real name


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return cleaned or "file"
