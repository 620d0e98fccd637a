"""The policy service: settings, blocked terms and today's counters in memory, written through.

``check`` runs on every job request before the interaction is deferred, so it is pure CPU: it
reads only memory and, when the request passes, reserves its images at once. Reserving at
acceptance (not counting at completion only) is what keeps concurrent requests from overrunning a
quota: the first nine jobs of a member with ten images left are in flight together, the tenth is
refused, and each reservation becomes real usage only if its job delivers images. A job that fails
(including a safety refusal by the image service) gives its reservation back, so nothing that
produced no image is counted.

Across processes, ``confirm`` (or ``recorder``, with the job's record) makes the reservation
again in the shared database while the interaction is acknowledged; the memory check stays the
fast first word.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from bot.errors import PolicyRefusal
from bot.jobs.models import JobCompleted, JobFailed
from bot.jobs.ports import JobRecorder
from bot.jobs.records import JobRecord
from bot.policy.acceptance import Acceptance, QuotaClaim
from bot.policy.editing import SettingsEditing
from bot.policy.ledger import Counts, Ledger, utc_date
from bot.policy.models import (
    DM_SCOPE,
    GuildSettings,
    JobContext,
    PastJob,
    local_day,
    next_midnight,
)
from bot.policy.ports import PolicyStore
from bot.policy.preferences import Preferences
from bot.policy.records import AuditEntry, MemberStatus, Reservation
from bot.policy.rules import UNLOGGED, Usage, check_amount, check_job, check_reuse
from bot.policy.spending import Budgets
from bot.policy.terms import TermMatcher

log = logging.getLogger(__name__)

AuditListener = Callable[[AuditEntry, JobRecord | None], None]
PRUNE_EVERY = 3600.0


class PolicyService(SettingsEditing):
    """Decides whether a job may start, and keeps the books on what was made."""

    def __init__(
        self,
        store: PolicyStore,
        *,
        clock: Callable[[], float] = time.time,
        dms_allowed: bool = False,
        budgets: Budgets | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dms_allowed = dms_allowed
        self.budgets = budgets or Budgets(store)  # money: budgets and the spending books
        self.preferences = Preferences(store)  # members' own defaults
        self._settings: dict[int, GuildSettings] = {}
        self._terms: dict[int, list[str]] = {}
        self._matchers: dict[int, TermMatcher] = {}
        self._books = Ledger()
        self._listeners: list[AuditListener] = []
        self._pruned_at = 0.0
        self._releases: set[asyncio.Task[None]] = set()

    @classmethod
    async def load(cls, store: PolicyStore, **options: Any) -> PolicyService:
        """A service with settings, terms, recent usage, running jobs and cooldowns loaded."""
        service = cls(store, **options)
        await service.reload()
        return service

    async def reload(self) -> None:
        """Read everything the checks need from the database (at start)."""
        now = self.clock()
        self._settings = await self.store.all_settings()
        self._terms = await self.store.all_terms()
        self._matchers = {guild: TermMatcher(terms) for guild, terms in self._terms.items()}
        self._books.clear()
        # Two days back covers "today" in every timezone (UTC-12 to UTC+14).
        first = (utc_date(now) - timedelta(days=2)).isoformat()
        for scope, day, user, images in await self.store.usage_since(first):
            self._books.count(scope, day, user, images)
        held = []
        for job in await self.store.pending_jobs():
            scope = job.guild_id if job.guild_id is not None else DM_SCOPE
            day = local_day(job.created_at, self.settings(job.guild_id).zone)
            if not self.store.shared:  # shared: others finish them; the store's holds count
                self._books.reserve(Reservation(job.job_id, scope, day, job.user_id, job.n, None))
            held.append((job.job_id, scope, day, job.user_id, job.n, job.created_at))
        await self.store.adopt_reservations(held)  # jobs accepted before holds were stored
        await self.budgets.load(now, lambda guild: self.settings(guild).zone)
        await self.preferences.load()
        longest = max((s.cooldown_seconds for s in self._settings.values()), default=0)
        if longest:
            for guild, user, at in await self.store.last_jobs_since(now - longest):
                self._books.last_job[(guild if guild is not None else DM_SCOPE, user)] = at
        log.info(
            "policy loaded: %d server(s) with settings, %d running job(s) reserved",
            len(self._settings),
            len(self._books.reservations),
        )

    def subscribe(self, listener: AuditListener) -> None:
        """Call ``listener`` with every new audit entry (the Discord moderation log)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: AuditListener) -> None:
        """Stop calling ``listener`` (an extension unloading)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------------ reading

    def today(self, guild_id: int | None) -> str:
        """Today's date in the server's timezone."""
        return local_day(self.clock(), self.settings(guild_id).zone)

    def resets_at(self, guild_id: int | None) -> int:
        """Unix time of the server's next midnight, when daily limits reset."""
        return next_midnight(self.clock(), self.settings(guild_id).zone)

    def first_day(self, guild_id: int | None, days: int) -> str:
        """The first day of a report covering the last ``days`` days, today included."""
        today = date.fromisoformat(self.today(guild_id))
        return (today - timedelta(days=max(1, days) - 1)).isoformat()

    def usage(self, guild_id: int | None, user_id: int) -> Usage:
        """Today's images of a member and their server, jobs in flight included."""
        scope = guild_id if guild_id is not None else DM_SCOPE
        return self._books.usage(scope, self.today(guild_id), user_id)

    def status(
        self,
        guild_id: int | None,
        user_id: int,
        counts: Counts | None = None,
    ) -> MemberStatus:
        """A member's standing today (``/usage``), from this process's counters or from
        ``counts`` (used, pending, server used, server pending) read across every process."""
        settings = self.settings(guild_id)
        scope = guild_id if guild_id is not None else DM_SCOPE
        day = self.today(guild_id)
        last = self._books.last_job.get((scope, user_id))
        ready = last + settings.cooldown_seconds if last and settings.cooldown_seconds else None
        used, pending, server_used, server_pending = counts or self._books.counts(
            scope, day, user_id
        )
        return MemberStatus(
            used=used,
            pending=pending,
            limit=settings.member_daily_images,
            server_used=server_used,
            server_pending=server_pending,
            server_limit=settings.server_daily_images,
            resets_at=self.resets_at(guild_id),
            ready_at=ready if ready is not None and ready > self.clock() else None,
        )

    async def current_status(self, guild_id: int | None, user_id: int) -> MemberStatus:
        """``status`` with the counts of every process (several may serve one server)."""
        scope = guild_id if guild_id is not None else DM_SCOPE
        counts = await self.store.member_usage(scope, self.today(guild_id), user_id)
        return self.status(guild_id, user_id, counts)

    # ------------------------------------------------------------------ deciding

    def check(self, ctx: JobContext, *, job_id: str) -> Reservation:
        """Apply every rule; on success reserve the images for ``job_id`` (no I/O, no await).

        Raises ``PolicyRefusal``. Call ``release(job_id)`` if the job is then not accepted.
        """
        refusal = self.preview(ctx)
        if refusal is not None:
            raise refusal
        now = self.clock()
        zone = self.settings(ctx.guild_id).zone
        key = (ctx.scope, ctx.user_id)
        reservation = Reservation(
            job_id=job_id,
            scope=ctx.scope,
            day=local_day(now, zone),
            user_id=ctx.user_id,
            images=ctx.n,
            previous_job_at=self._books.last_job.get(key),
        )
        self._books.reserve(reservation)
        self.budgets.hold(ctx, job_id, day=reservation.day, now=now)
        self._books.last_job[key] = now
        return reservation

    async def admit(self, ctx: JobContext, *, job_id: str) -> Reservation:
        """``check``, with a refusal recorded (``refused``) before it is raised.

        Nothing is awaited when the request passes, so no other check can run in between.
        """
        try:
            return self.check(ctx, job_id=job_id)
        except PolicyRefusal as refusal:
            await self.refused(ctx, refusal)
            raise

    async def confirm(self, ctx: JobContext, *, job_id: str) -> None:
        """``admit``'s reservation and budget hold again in the store, where every process's
        usage and spending count (after the defer: it waits on the database); refused, they are
        given back and the refusal raised."""
        await self._accept(ctx, job_id, None, 0.0)

    def recorder(self, ctx: JobContext, *, job_id: str) -> JobRecorder:
        """``confirm`` and the job's record in one write (``engine.accept(record=…)``): the
        store decides and writes the reservation, the hold and the record together, grouped
        with the other jobs accepted meanwhile (group commit), or refuses and writes nothing."""

        async def record(job: JobRecord, *, lease: float) -> None:
            await self._accept(ctx, job_id, job, lease)

        return record

    async def _accept(
        self, ctx: JobContext, job_id: str, job: JobRecord | None, lease: float
    ) -> None:
        """The store's final word on ``job_id`` (``bot.policy.acceptance``), with ``job``'s record
        if given; a refusal gives the reservation and hold back in memory, is logged, and raised."""
        reservation = self._books.reservations.get(job_id)
        if reservation is None:  # already finished or released: only the record, if any
            if job is not None:
                await self.store.accept(Acceptance(job=job, lease=lease))
            return
        settings = self.settings(ctx.guild_id)
        at = self._books.last_job.get((ctx.scope, ctx.user_id), self.clock())

        def decide(usage: Usage) -> None:
            resets_at = next_midnight(at, settings.zone)
            check_amount(settings, ctx, usage, now=at, resets_at=resets_at)

        acceptance = Acceptance(
            quota=QuotaClaim(reservation, at, decide),
            spend=self.budgets.claim(settings, ctx, job_id, now=at),
            job=job,
            lease=lease,
        )
        try:
            await self.store.accept(acceptance)
        except PolicyRefusal as refusal:
            self.release(job_id, stored=False)  # refused: nothing of it was written
            await self.refused(ctx, refusal)
            raise

    async def vet(self, ctx: JobContext) -> None:
        """``preview`` as a check: a refusal is recorded and raised; nothing is reserved."""
        refusal = self.preview(ctx)
        if refusal is not None:
            await self.refused(ctx, refusal)
            raise refusal

    def preview(self, ctx: JobContext) -> PolicyRefusal | None:
        """The refusal ``check`` would raise now, without reserving anything (a dry run for
        commands that must defer before ``start_job``, like /edit downloading its images)."""
        settings = self.settings(ctx.guild_id)
        now = self.clock()
        try:
            check_job(
                settings,
                ctx,
                self.usage(ctx.guild_id, ctx.user_id),
                self._matchers.get(ctx.scope, _NO_TERMS),
                now=now,
                resets_at=next_midnight(now, settings.zone),
                dms_allowed=self.dms_allowed,
            )
        except PolicyRefusal as refusal:
            return refusal
        return self.budgets.refusal(settings, ctx, day=local_day(now, settings.zone), now=now)

    def release(self, job_id: str, *, stored: bool = True) -> None:
        """Give back a reservation whose job was not accepted (bad input): no cooldown either.
        The store's copy (``confirm``) goes in the background (or is swept: ``policy.sync``)."""
        self.budgets.release(job_id)
        reservation = self._books.unreserve(job_id)
        if reservation is None:
            return
        key = (reservation.scope, reservation.user_id)
        if reservation.previous_job_at is None:
            self._books.last_job.pop(key, None)
        else:
            self._books.last_job[key] = reservation.previous_job_at
        if stored:
            task = asyncio.get_running_loop().create_task(
                self.store.release_reservation(job_id, previous_job_at=reservation.previous_job_at)
            )
            self._releases.add(task)
            task.add_done_callback(self._released)

    def _released(self, task: asyncio.Task[None]) -> None:
        self._releases.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a reservation stays until swept: %s", task.exception())

    def reuse_refusal(
        self, ctx: JobContext, job: JobRecord, *, made_in_nsfw: bool = False
    ) -> PolicyRefusal | None:
        """None if ``ctx``'s member may show or reuse ``job`` there now, else why not: the one
        check for ``/show``, result buttons and Edit image on a result (``rules.check_reuse``).
        """
        past = PastJob.of(job, made_in_nsfw=made_in_nsfw)
        terms = self._matchers.get(ctx.scope, _NO_TERMS)
        settings = self.settings(ctx.guild_id)
        try:
            check_reuse(settings, ctx, past, terms, dms_allowed=self.dms_allowed)
        except PolicyRefusal as refusal:
            return refusal
        return None

    async def vet_reuse(self, ctx: JobContext, job: JobRecord, *, made_in_nsfw: bool) -> None:
        """``reuse_refusal`` as a check: a refusal is logged (unless it is about the job
        itself, which may be another server's) and raised."""
        refusal = self.reuse_refusal(ctx, job, made_in_nsfw=made_in_nsfw)
        if refusal is None:
            return
        if refusal.rule not in UNLOGGED:
            await self.refused(ctx.model_copy(update={"prompt": job.request.prompt}), refusal)
        raise refusal

    def spoilers(self, guild_id: int | None) -> bool:
        """Whether results in this server are posted as spoilers."""
        return self.settings(guild_id).spoilers

    # ------------------------------------------------------------------ recording

    async def job_finished(self, job: JobRecord, event: JobCompleted | JobFailed) -> None:
        """The engine's finish hook: count delivered images, log the outcome (idempotent)."""
        if job.origin != "discord":
            return
        reservation = self._books.unreserve(job.id)
        scope = job.guild_id if job.guild_id is not None else DM_SCOPE
        zone = self.settings(job.guild_id).zone
        day = reservation.day if reservation else local_day(job.created_at, zone)
        if job.user_id is not None:
            images = len(event.images) if isinstance(event, JobCompleted) else 0
            # Count in memory first, so no check in between sees the job as neither reserved
            # nor used; undo if the database says this job was already counted.
            self._books.count(scope, day, job.user_id, images)
            settled = await self.store.settle(
                job.id, scope=scope, user_id=job.user_id, day=day, images=images, at=self.clock()
            )
            if not settled:
                self._books.count(scope, day, job.user_id, -images)
        await self.budgets.settle(job, event, scope=scope, day=day, now=self.clock())
        failed = isinstance(event, JobFailed)
        note = event.reason if isinstance(event, JobFailed) else event.shortfall()
        entry = AuditEntry(
            guild_id=scope,
            event="failed" if failed else "completed",
            day=day,
            at=self.clock(),
            user_id=job.user_id,
            channel_id=job.channel_id,
            job_id=job.id,
            rule=event.failure if isinstance(event, JobFailed) else None,
            prompt=job.request.prompt,
            detail=None if note is None else str(note),
            detail_text=note,
        )
        await self._audit(entry, job)
        now = self.clock()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            longest = max((s.cooldown_seconds for s in self._settings.values()), default=0)
            self._books.prune(now, longest_cooldown=longest)

    async def refused(self, ctx: JobContext, refusal: PolicyRefusal) -> None:
        """Log a refusal for ``/usage`` and the moderation log."""
        log.info("user %s refused by rule %s in guild %s", ctx.user_id, refusal.rule, ctx.guild_id)
        entry = AuditEntry(
            guild_id=ctx.scope,
            event="refused",
            day=self.today(ctx.guild_id),
            at=self.clock(),
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            rule=refusal.rule,
            prompt=ctx.prompt,
            detail=refusal.admin_detail or None,
            detail_text=refusal.admin_detail_text,
        )
        await self._audit(entry, None)

    async def _audit(self, entry: AuditEntry, job: JobRecord | None) -> None:
        if not await self.store.add_audit(entry):
            return  # this job's outcome was logged before a restart
        for listener in self._listeners:
            try:
                listener(entry, job)
            except Exception:
                log.exception("an audit listener failed")


_NO_TERMS = TermMatcher(())
