"""The benchmark's configuration and its result, as pydantic models (the JSON file is a dump)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from bot.ops.loop_lag import LagSummary


class BenchConfig(BaseModel):
    """What to run. Defaults are the shipped bot settings; ``bot_env`` overrides are labelled."""

    jobs: int = Field(default=50, ge=1, le=2000)
    upstream_duration: float = Field(default=20.0, ge=0)
    ratio: str = "16:9"
    resolution: str = "2K"
    images_per_job: int = Field(default=1, ge=1, le=10)
    references: int = Field(default=0, ge=0, le=10, description="reference images per job")
    ramp: float = Field(default=0.0, ge=0, description="seconds over which jobs are fired")
    guilds: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="servers the members are spread over, round-robin over the shards "
        "(None: one per shard)",
    )
    shards: int = Field(default=1, ge=1, le=16, description="bot processes, one shard each")
    floor: bool = Field(
        default=False, description="run the bare discord.py bot that only defers, not Easel"
    )
    store: Literal["sqlite", "postgres"] | None = Field(
        default=None, description="Easel's database (None: SQLite for one process, else PostgreSQL)"
    )
    database_url: str | None = Field(
        default=None,
        exclude=True,  # may hold a password
        description="an existing PostgreSQL to use (default: a throwaway one, started here)",
    )
    pin: bool = Field(
        default=False, description="bot alone on CPU 0, sandbox and driver on the others (Linux)"
    )
    driver_loop: Literal["auto", "asyncio"] = Field(
        default="auto", description="this driver's event loop (auto: uvloop when installed)"
    )
    query_budget: int = Field(default=3000, gt=0, description="status queries per minute")
    timeout: float | None = Field(default=None, gt=0, description="overall seconds; None: auto")
    bot_env: dict[str, str] = Field(default_factory=dict)
    source: Path = Field(description="the checkout whose bot and sandbox run")
    at: str | None = Field(default=None, description="run this commit of source (git archive)")
    notes: list[str] = Field(default_factory=list)
    json_path: Path | None = Field(default=None, exclude=True)
    keep_logs: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _one_server_per_shard(self) -> BenchConfig:
        if self.guilds is None:
            self.guilds = self.shards
        if self.guilds < self.shards:
            raise ValueError(
                f"--guilds {self.guilds} leaves a shard without a server: use at least "
                f"--guilds {self.shards} with --shards {self.shards}"
            )
        if self.store is None:
            self.store = "postgres" if self.shards > 1 else "sqlite"
        if self.shards > 1 and self.store == "sqlite" and not self.floor:
            raise ValueError("shard processes share one PostgreSQL: drop --store sqlite")
        return self

    @property
    def server_count(self) -> int:
        """How many servers the members are spread over (set by the validator)."""
        return self.guilds or self.shards

    def overall_timeout(self) -> float:
        """Generous: as if only 20 jobs ran upstream at a time, each wave taking the upstream
        duration plus 30 s (the shipped caps are 50 in total and 20 per server)."""
        if self.timeout is not None:
            return self.timeout
        waves = -(-self.jobs // 20)
        return 120.0 + waves * (self.upstream_duration + 30.0)


class Distribution(BaseModel):
    """Percentiles of one measured quantity."""

    n: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    mean: float | None = None


class JobCounts(BaseModel):
    """How the fired jobs ended."""

    fired: int
    acknowledged: int
    missed_ack_deadline: int
    delivered: int
    failed: int = Field(description="ended with a failure message instead of images")
    timed_out: int = Field(description="no final message before the overall timeout")
    wrong_images: int = Field(description="final message without n images at the right size")
    overhead_unmapped: int = Field(description="delivered, but no upstream task found for it")


class AckBurst(BaseModel):
    """The acknowledgement phase: from the first dispatch until every job was acknowledged.

    CPU is what each process used in that window (the bots' and the sandbox's from /proc, to
    the nanosecond where the kernel keeps schedstat): it shows where the time between the first
    and the last defer went.
    """

    wall_ms: float
    bot_cpu_ms: float | None
    driver_cpu_ms: float
    sandbox_cpu_ms: float | None


class UpstreamUse(BaseModel):
    """Requests the sandbox counted during the run."""

    totals: dict[str, int]
    per_job: dict[str, float]
    status_queries_max_60s: int
    status_queries_mean_per_min: float = Field(
        default=0.0, description="status queries per minute, averaged over the seconds observed"
    )
    status_queries_peak_per_s: int
    api_calls_max_60s: int = Field(description="uploads + submits + status queries")
    api_calls_peak_per_s: int
    budget_per_min: int
    seconds_observed: int


class DiscordUse(BaseModel):
    """Requests the local Discord answered for the bot during the run."""

    total: int
    per_job: float
    by_route: dict[str, int]
    rate_limited_429: int
    errors: dict[str, int] = Field(description="non-2xx answers other than 429, by code")


class ProcessUse(BaseModel):
    """One process's resource use."""

    name: str | None = None
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None
    loop_lag_ms: LagSummary | None = None
    loop_lag_samples: int | None = None


class TargetCheck(BaseModel):
    """One target from the issue, met or missed."""

    name: str
    target: str
    value: int | float | None
    met: bool | None
    applies_at: str


class Machine(BaseModel):
    """Where the run happened."""

    cpus: int
    cpu_model: str
    python: str
    platform: str
    source: str
    commit: str


class JobSample(BaseModel):
    """One job's raw figures, in firing order (for plots and for finding where time went)."""

    index: int
    outcome: str
    ack_ms: float | None = None
    dispatch_ms: float | None = None
    dispatched_after_ms: float | None = None
    overhead_s: float | None = None
    end_to_end_s: float | None = None


class BenchResult(BaseModel):
    """Everything one run measured (``--json`` writes this)."""

    started_at: str
    wall_seconds: float
    config: BenchConfig
    machine: Machine
    jobs: JobCounts
    ack_latency_ms: Distribution
    dispatch_ms: Distribution = Field(
        description="driver side: building and writing each INTERACTION_CREATE (part of ack)"
    )
    ack_burst: AckBurst | None = None
    delivery_overhead_s: Distribution
    end_to_end_s: Distribution
    sandbox_render_ms_per_image: float
    upstream: UpstreamUse
    discord: DiscordUse
    bots: list[ProcessUse] = Field(description="each bot process (one per shard), shard order")
    sandbox: ProcessUse
    driver: ProcessUse
    targets: list[TargetCheck]
    notes: list[str] = Field(default_factory=list)
    samples: list[JobSample] = Field(default_factory=list)
