"""Each member's own defaults in each server (``/settings``): in memory for the checks that run
before a command is acknowledged, written through to the store."""

from __future__ import annotations

from bot.policy.defaults import JobDefaults
from bot.policy.spend_ports import SpendStore

NONE = JobDefaults()


class Preferences:
    """Members' defaults by (server, member)."""

    def __init__(self, store: SpendStore) -> None:
        self.store = store
        self._defaults: dict[tuple[int, int], JobDefaults] = {}

    async def load(self) -> None:
        """Read every member's defaults (at start)."""
        self._defaults = await self.store.all_member_defaults()

    def of(self, guild_id: int, user_id: int) -> JobDefaults:
        """A member's defaults in a server (none set: every option empty)."""
        return self._defaults.get((guild_id, user_id), NONE)

    async def save(self, guild_id: int, user_id: int, defaults: JobDefaults) -> None:
        """Store a member's defaults (all empty: forget them)."""
        await self.store.save_member_defaults(guild_id, user_id, defaults)
        if defaults.empty:
            self._defaults.pop((guild_id, user_id), None)
        else:
            self._defaults[(guild_id, user_id)] = defaults
