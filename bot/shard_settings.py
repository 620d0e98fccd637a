"""The settings of one shard process: its gateway shards and its event loop (README "Scaling out").

Their defaults suit one process running every shard; ``bot.settings.Settings`` takes them in.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from bot.eventloop import EventLoopChoice
from bot.provider_settings import blank_is_none
from bot.shards import ShardPlan, parse_shard_ids


class ShardSettings(BaseModel):
    """``SHARD_COUNT``/``SHARD_IDS`` per process, and ``EVENT_LOOP`` (uvloop when installed)."""

    shard_count: int | None = Field(default=None, ge=1)  # None: Discord's recommendation
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)  # empty: all
    event_loop: EventLoopChoice = "auto"  # auto: uvloop when installed

    @field_validator("shard_count", mode="before")
    @classmethod
    def _blank_count(cls, value: Any) -> Any:
        return blank_is_none(value)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_list(cls, value: Any) -> Any:
        """``SHARD_IDS=0,1``: the shard numbers this process runs."""
        return parse_shard_ids(value)

    def shard_plan(self) -> ShardPlan:
        """This process's shards (SHARD_COUNT and SHARD_IDS checked together)."""
        return ShardPlan.from_settings(self.shard_count, self.shard_ids)
