"""Job ownership across processes: one heartbeat renews this process's leases and claims others'.

Every unfinished job is leased to one live process. This process's heartbeat, every
``heartbeat`` seconds, (1) records that the process lives, which also tells it how many share
the work (they split the upstream status-query budget), (2) renews the leases of the jobs it is
working on and stops any it no longer owns, and (3) claims jobs whose lease ran out: a process
that died (SIGKILL, a lost machine) stops renewing, and once its leases expire a live one
continues each job from where it stood.

A job is therefore taken over at most ``seconds + heartbeat`` after its owner's last renewal
(plus one tick of the claimer's own loop): the take-over bound the settings document.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Collection, Mapping

from pydantic import BaseModel, Field, model_validator

from bot.jobs.ports import JobStore, LeaseLostError, StoreUnavailableError, Worker
from bot.jobs.queue import QueueLimits
from bot.jobs.records import JobRecord, Origin

log = logging.getLogger(__name__)


def new_owner_id() -> str:
    """A process id no other process (here or on another machine, now or later) will have."""
    return f"{socket.gethostname()[:40]}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class LeaseConfig(BaseModel):
    """Who this process is and how long its claim on a job lasts without a heartbeat."""

    owner: str = Field(default_factory=new_owner_id)
    seconds: float = Field(default=30.0, gt=0)  # a lease lasts this long unless renewed
    heartbeat: float = Field(default=5.0, gt=0)  # renew and claim this often
    claim_batch: int = Field(default=20, ge=1)  # jobs claimed per query
    shards: str = ""  # shown to operators beside the owner (e.g. "0,1")

    @model_validator(mode="after")
    def _renewed_in_time(self) -> LeaseConfig:
        if self.heartbeat * 2 > self.seconds:
            raise ValueError("the heartbeat must come at least twice per lease")
        return self


class LeaseKeeper:
    """The heartbeat loop of one engine (see the module docstring)."""

    def __init__(
        self,
        store: JobStore,
        config: LeaseConfig,
        *,
        working_on: Mapping[str, asyncio.Task[None]],
        origins: Callable[[], Collection[Origin]],
        launch: Callable[[JobRecord], None],
        share: Callable[[int], None],
    ) -> None:
        """``working_on`` maps the jobs this process runs to their tasks; ``launch`` starts a
        claimed job; ``share`` learns how many processes are alive."""
        self.store = store
        self.config = config
        self._working_on = working_on
        self._origins = origins
        self._launch = launch
        self._share = share
        self._task: asyncio.Task[None] | None = None
        self.workers = 1
        self.adopted: set[str] = set()  # running jobs claimed, not accepted, by this process

    @property
    def owner(self) -> str:
        """This process's lease owner id."""
        return self.config.owner

    def start(self) -> None:
        """Start the heartbeat."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lease-heartbeat")

    async def stop(self, *, release: Collection[str] = ()) -> None:
        """Stop the heartbeat; hand the leases of ``release`` back and leave the cluster."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            if release:
                await self.store.release(self.owner, release)
            if self.store.shared:
                await self.store.leave(self.owner)
        except (StoreUnavailableError, OSError):
            log.warning("could not hand back %d lease(s); they expire on their own", len(release))

    async def claim(self, *, take_live: bool = False) -> int:
        """Claim and start jobs whose leases ran out (all of them with ``take_live``)."""
        origins = list(self._origins())
        claimed = 0
        while origins:
            batch = await self.store.claim(
                self.owner,
                origins,
                lease=self.config.seconds,
                limit=self.config.claim_batch,
                take_live=take_live,
            )
            for job in batch:
                if job.id in self._working_on:
                    continue  # already running here (a renewal raced an expiry)
                log.info("job %s: continuing from %s (lease claimed)", job.id, job.state)
                self.adopted.add(job.id)
                self._launch(job)
                claimed += 1
            if len(batch) < self.config.claim_batch:
                break
        return claimed

    async def start_running(self, job: JobRecord, limits: QueueLimits) -> None:
        """Wait until the caps, counted over every process, let ``job`` start running.

        The fair queue already kept this process within them; other processes' running jobs
        (one member's jobs in servers served elsewhere) are only known to the database.
        """
        delay = 0.1
        while not await self.store.start_running(job, limits):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def beat(self) -> None:
        """One heartbeat: say this process lives, renew its leases, claim expired ones."""
        if self.store.shared:  # alone on its own file, a process needs no share
            worker = Worker(id=self.owner, shards=self.config.shards)
            self.workers = max(1, await self.store.beat(worker, lease=self.config.seconds))
            self._share(self.workers)
        mine = set(self._working_on)
        kept = await self.store.renew(self.owner, mine, lease=self.config.seconds)
        for job_id in mine - kept:
            log.warning("job %s: another process owns it now; stopping here", job_id)
            task = self._working_on.get(job_id)
            if task is not None:
                task.cancel()
        await self.claim()

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except (StoreUnavailableError, LeaseLostError, OSError):
                log.warning("lease heartbeat failed; trying again", exc_info=True)
            except Exception:
                log.exception("lease heartbeat crashed; trying again")
            await asyncio.sleep(self.config.heartbeat)
