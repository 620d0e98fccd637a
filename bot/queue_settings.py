"""The fair queue's caps: how many jobs run upstream at once, in all, per server, per member.

With several processes on one PostgreSQL they hold across all of them (``bot.store.leases``);
``bot.settings.Settings`` takes them in.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.jobs.queue import QueueLimits


class QueueSettings(BaseModel):
    """MAX_CONCURRENT_JOBS, MAX_JOBS_PER_GUILD and MAX_JOBS_PER_MEMBER."""

    max_concurrent_jobs: int = Field(default=50, ge=1)
    max_jobs_per_guild: int = Field(default=20, ge=1)
    max_jobs_per_member: int = Field(default=3, ge=1)

    def queue_limits(self) -> QueueLimits:
        """The fair queue's caps."""
        return QueueLimits(
            global_jobs=self.max_concurrent_jobs,
            per_guild=self.max_jobs_per_guild,
            per_member=self.max_jobs_per_member,
        )
