"""The engine's timing, budgets and concurrency, in one model (settings fill it in)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.jobs.leases import LeaseConfig
from bot.jobs.queue import QueueLimits
from bot.jobs.scheduler import PollPolicy
from bot.jobs.watch import LOCAL_POLLS


class EngineConfig(BaseModel):
    """Timing, budget and concurrency."""

    poll: PollPolicy = Field(default_factory=PollPolicy)
    local_poll: PollPolicy = Field(default_factory=lambda: LOCAL_POLLS.model_copy())
    queue: QueueLimits = Field(default_factory=QueueLimits)
    job_timeout: float = Field(default=900.0, gt=0)  # 2K standard; 4K and high quality get more
    # Seconds an outage at submit is waited out (tried again with backoff) before the job fails:
    # nothing is charged until a task exists. 0: fail once every provider failed once.
    submit_budget: float = Field(default=60.0, ge=0)
    submit_backoff: float = Field(default=2.0, gt=0)  # seconds before the second round
    # A member who cannot be reached is tried this many times, waiting ``delivery_backoff``
    # seconds before the second try and doubling (5, 10, 20 … at most 5 minutes apart).
    delivery_attempts: int = Field(default=8, ge=1)
    delivery_backoff: float = Field(default=5.0, gt=0)
    lease: LeaseConfig = Field(default_factory=LeaseConfig)  # who owns which job (leases.py)
