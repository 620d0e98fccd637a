"""The settings of several processes sharing one PostgreSQL (README "Scaling out").

Their defaults suit one process on SQLite too; ``bot.settings.Settings`` takes them in.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.errors import ConfigError
from bot.jobs.leases import LeaseConfig


class ScalingSettings(BaseModel):
    """Pool, reconnection, job leases and how soon other processes' changes are seen."""

    database_pool_size: int = Field(default=10, ge=1, le=200)  # PostgreSQL connections each
    database_reconnect_seconds: float = Field(default=60, gt=0)  # retry a lost server this long
    # PostgreSQL: pg_dump into DATA_DIR/backups before a schema upgrade (when pg_dump is on PATH)
    database_backup_before_upgrade: bool = True
    job_lease_seconds: float = Field(default=30, gt=0)  # a dead process's jobs wait this long
    job_heartbeat_seconds: float = Field(default=5, gt=0)  # leases renewed, others claimed
    policy_refresh_seconds: float = Field(default=2, gt=0)  # other processes' setting changes

    def check_leases(self) -> None:
        """Refuse a heartbeat too slow to keep its own leases alive."""
        if self.job_heartbeat_seconds * 2 > self.job_lease_seconds:
            raise ConfigError(
                "JOB_HEARTBEAT_SECONDS",
                f"is {self.job_heartbeat_seconds:g} but must be at most half of "
                f"JOB_LEASE_SECONDS ({self.job_lease_seconds:g}), or leases expire between "
                "renewals and live jobs are taken over.",
            )

    def lease_config(self, shards: str = "") -> LeaseConfig:
        """The engine's lease settings (``shards`` names this process's, for operators)."""
        return LeaseConfig(
            seconds=self.job_lease_seconds, heartbeat=self.job_heartbeat_seconds, shards=shards
        )
