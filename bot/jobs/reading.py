"""What the bot reads and changes of jobs outside their run: a job by id, a member's latest,
stored files, the request to re-roll one, a member's erasure (a part of ``Engine``)."""

from __future__ import annotations

from bot.jobs import job_files, retention
from bot.jobs.derive import DerivedAction, derived_request
from bot.jobs.models import InputImage, JobRequest, ResultImage
from bot.jobs.ports import JobFiles, JobStore
from bot.jobs.provider_set import ProviderSet
from bot.jobs.records import JobRecord, StoredFile


class JobReading:
    """The engine's job reads, on its store and file store (mixed into ``Engine``)."""

    store: JobStore
    files: JobFiles
    provider_set: ProviderSet

    async def save(self, job: JobRecord) -> None:
        """Persist changes an observer made (a new message id after a deleted message)."""
        await self.store.save(job)

    async def get_job(self, job_id: str) -> JobRecord | None:
        """One job by id, or by a unique prefix of at least 8 characters (as shown to members)."""
        return await self.store.get(job_id)

    async def recent_jobs(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 10
    ) -> list[JobRecord]:
        """A member's latest jobs, newest first (in one server when ``guild_id`` is given)."""
        return await self.store.recent_for_user(user_id, guild_id=guild_id, limit=limit)

    async def read_file(self, stored: StoredFile) -> bytes:
        """One stored input or result (FileNotFoundError once it was pruned)."""
        return await self.files.read(stored.path)

    async def derive(
        self, job: JobRecord, action: DerivedAction, *, index: int = 0
    ) -> tuple[JobRequest, tuple[InputImage, ...]]:
        """The request and inputs to re-roll, vary or upscale ``job`` (its image ``index``)."""
        return await derived_request(job, action, self.files, self.provider_set.spec, index=index)

    async def load_results(self, job: JobRecord) -> tuple[ResultImage, ...]:
        """A finished job's images, from the file store."""
        return await job_files.load_results(self.files, job)

    async def erase(self, job: JobRecord, *, by: int | None) -> None:
        """Its member deleted the result: erase its images and mark it deleted for good."""
        await retention.erase(self.store, self.files, job, by=by)
