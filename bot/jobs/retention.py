"""Retention: job images are deleted some days after the member was told, rows are kept.

``/jobs`` still lists a pruned job; only its files go, so the disk does not grow forever. A
result its member deletes goes at once (``erase``), and the row remembers that it was deleted.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.jobs.ports import JobFiles, JobStore
from bot.jobs.records import Delivery, JobRecord

log = logging.getLogger(__name__)

DAY = 86400.0


async def prune(store: JobStore, files: JobFiles, older_than: float, *, batch: int = 200) -> int:
    """Delete the stored images of jobs finished more than ``older_than`` seconds ago.

    Returns how many jobs were pruned.
    """
    cutoff = time.time() - older_than
    pruned = 0
    while jobs := await store.with_files_finished_before(cutoff, limit=batch):
        for job in jobs:
            await files.delete_job(job.id)
            job.inputs = []
            job.results = []
            await store.save(job)
        pruned += len(jobs)
    if pruned:
        log.info("pruned the files of %d job(s) older than %.0f days", pruned, older_than / DAY)
    return pruned


async def erase(store: JobStore, files: JobFiles, job: JobRecord, *, by: int | None) -> None:
    """Delete a job's images (results and inputs) now and mark it deleted, for good.

    Marked first: if erasing the files fails half way, nothing shows or reuses what is left.
    """
    delivery = job.delivery or Delivery(application_id=0)
    job.delivery = delivery.model_copy(update={"deleted_at": time.time(), "deleted_by": by})
    await store.save(job)
    await files.delete_job(job.id)
    job.inputs = []
    job.results = []
    await store.save(job)
    log.info("job %s: result deleted by %s; its files are erased", job.id, by)


class Retention:
    """Prunes now, then once every ``interval`` seconds, until stopped."""

    def __init__(
        self, store: JobStore, files: JobFiles, *, keep: float, interval: float = DAY
    ) -> None:
        """``keep``: seconds a finished job's images are kept."""
        self._store = store
        self._files = files
        self.keep = keep
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="prune-files")

    async def stop(self) -> None:
        """Stop the loop (a prune under way is cut off; the next start prunes again)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await prune(self._store, self._files, self.keep)
            except Exception:
                log.exception("pruning old job files failed; trying again next round")
            await asyncio.sleep(self.interval)
