"""Which gateway shards this process runs (``SHARD_COUNT``, ``SHARD_IDS``), and who syncs.

Discord splits a bot's guilds over shards by ``(guild_id >> 22) % shard_count``; each shard is
one gateway connection, and a process may run several. Every process of one bot must use the
same count. Jobs do not care: any process can deliver any job over REST.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

log = logging.getLogger(__name__)


def parse_shard_ids(value: Any) -> Any:
    """``"0, 2"`` as ``[0, 2]`` (other values go to pydantic as they are)."""
    if not isinstance(value, str):
        return value
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise ValueError("expected shard numbers separated by commas, like 0,1")
    return [int(part) for part in parts]


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """This process's share of the gateway.

    ``count`` None: as many shards as Discord recommends, all in this process (the default,
    one process). ``ids`` None: every shard of ``count`` in this process.
    """

    count: int | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def from_settings(cls, count: int | None, ids: list[int]) -> ShardPlan:
        """Validate ``SHARD_COUNT``/``SHARD_IDS`` together, naming the setting to fix."""
        if not ids:
            return cls(count, None)
        if count is None:
            raise ConfigError(
                "SHARD_IDS",
                "needs SHARD_COUNT too: every process of the bot must name the same total, "
                "e.g. SHARD_COUNT=2 with SHARD_IDS=0 here and SHARD_IDS=1 in the other process.",
            )
        outside = sorted({i for i in ids if not 0 <= i < count})
        if outside:
            listed = ", ".join(map(str, outside))
            raise ConfigError(
                "SHARD_IDS",
                f"has {listed}, but shards are numbered 0 to {count - 1} when SHARD_COUNT={count}.",
            )
        if len(set(ids)) != len(ids):
            raise ConfigError("SHARD_IDS", "names a shard twice.")
        return cls(count, tuple(sorted(ids)))

    @property
    def sharded(self) -> bool:
        """This process runs only some of the bot's shards (others run elsewhere)."""
        return self.ids is not None and self.count is not None and len(self.ids) < self.count

    @property
    def holds_first_shard(self) -> bool:
        """Shard 0 is here: this process syncs commands (one process per bot must, once)."""
        return self.ids is None or 0 in self.ids

    def describe(self) -> str:
        """For the log: which shards, of how many."""
        if self.count is None:
            return "every shard Discord recommends"
        if self.ids is None:
            return f"all {self.count} shard(s)"
        return f"shard(s) {', '.join(map(str, self.ids))} of {self.count}"
