"""Discord snowflakes and timestamps, made as Discord makes them so discord.py's time math holds."""

from __future__ import annotations

import datetime as dt
import logging
import time

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Monotonic snowflake IDs from the wall clock (``created_at`` in discord.py must be real)."""

    __slots__ = ("_increment", "_last_ms", "_worker")

    def __init__(self, worker: int = 1) -> None:
        self._worker = worker & 0x1F
        self._last_ms = 0
        self._increment = 0

    def next(self) -> int:
        """Return a fresh ID, strictly greater than every ID returned before."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        if ms <= self._last_ms:
            ms = self._last_ms
            self._increment += 1
            if self._increment > 0xFFF:
                ms += 1
                self._increment = 0
        else:
            self._increment = 0
        self._last_ms = ms
        return (ms << 22) | (self._worker << 17) | self._increment

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh ID whose guild would live on ``shard_id`` of ``shard_count``.

        Routing reads the timestamp (``(id >> 22) % shard_count``), so the timestamp is moved
        forward by less than ``shard_count`` milliseconds when needed: still monotonic, and
        still within a few ms of the real creation time.
        """
        snowflake = self.next()
        skip = (shard_id - (snowflake >> 22)) % shard_count
        if skip == 0:
            return snowflake
        self._last_ms += skip
        self._increment = 0
        return (self._last_ms << 22) | (self._worker << 17)


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """Discord's routing of a guild to a gateway shard; DMs (no guild) go to shard 0."""
    if guild_id is None:
        return 0
    return (guild_id >> 22) % shard_count


def snowflake_time(snowflake: int) -> dt.datetime:
    """The UTC creation time encoded in a snowflake."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def utcnow() -> dt.datetime:
    """Aware UTC now (Discord timestamps are always UTC with an offset)."""
    return dt.datetime.now(dt.UTC)


def iso(when: dt.datetime | None) -> str | None:
    """ISO-8601 the way Discord writes it (``+00:00`` suffix, microseconds)."""
    return None if when is None else when.isoformat()
