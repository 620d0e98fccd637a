"""Keeps one process's policy in step with the others that share its database.

Every ``interval`` seconds it asks the store which servers' settings or blocked terms changed
(each change bumps a version in the same transaction) and loads those servers again, so an
admin's change made through one process applies in all of them within seconds. Now and then it
also sweeps quota holds that no job will ever settle (a process died between reserving and
recording the job).
"""

from __future__ import annotations

import asyncio
import logging

from bot.jobs.ports import StoreUnavailableError
from bot.policy.ports import PolicyStore
from bot.policy.service import PolicyService

log = logging.getLogger(__name__)

LATE_COMMIT = 30.0  # seconds a change may commit after its timestamp and still be seen
STALE_HOLD = 600.0  # seconds before a hold without a running job is swept
SWEEP_EVERY = 60.0


class PolicySync:
    """The refresh loop of one process's ``PolicyService`` (see the module docstring)."""

    def __init__(
        self, service: PolicyService, store: PolicyStore, *, interval: float = 2.0
    ) -> None:
        self.service = service
        self.store = store
        self.interval = interval
        self._versions: dict[int, int] = {}
        self._since = 0.0
        self._swept_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the service, then follow changes in the background.

        The versions are read before the load, so a change committed in between is loaded
        again rather than missed.
        """
        self._since, self._versions = await self.store.changed_since(0.0)
        await self.service.reload()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="policy-sync")

    async def stop(self) -> None:
        """Stop following changes."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def refresh(self) -> set[int]:
        """Load the servers whose settings changed since the last look; returns their ids."""
        now, changed = await self.store.changed_since(self._since - LATE_COMMIT)
        self._since = now
        fresh = {
            guild for guild, version in changed.items() if self._versions.get(guild) != version
        }
        for guild in sorted(fresh):
            settings, terms = await self.store.guild_policy(guild)
            self.service.apply(guild, settings, terms)
            self._versions[guild] = changed[guild]
        if fresh:
            log.info("settings of %d server(s) changed elsewhere; loaded", len(fresh))
        if now - self._swept_at >= SWEEP_EVERY:
            self._swept_at = now
            if swept := await self.store.sweep_reservations(now - STALE_HOLD):
                log.info("let go of %d quota hold(s) no job will settle", swept)
        return fresh

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except (StoreUnavailableError, OSError) as exc:
                log.warning("could not read settings changes: %s", exc)
            except Exception:
                log.exception("following settings changes failed; trying again")
