"""Money books in memory, for budgets: what was spent and what running jobs hold, per member,
server and host, by day and by month.

Like image quotas, a job's estimated cost is held at acceptance (with no await between the check
and the hold), so concurrent jobs cannot overshoot a budget together; when the job finishes the
hold becomes its final cost (``bot.jobs.costs``: nothing for a failure the API refunds). The
store keeps the books (``SpendStore``); this keeps what the checks read.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from bot.errors import PolicyRefusal
from bot.jobs.models import JobCompleted, JobFailed
from bot.jobs.records import JobRecord
from bot.policy.acceptance import SpendClaim
from bot.policy.budget import NO_BUDGET, Budget, Spending, Spent, local_month, utc_day
from bot.policy.budget_rules import budgets_for, check_budget
from bot.policy.models import DM_SCOPE, GuildSettings, JobContext, local_day
from bot.policy.records import SpendEntry, SpendHold
from bot.policy.spend_ports import SpendStore

log = logging.getLogger(__name__)

Key = tuple[str | int, ...]
PRUNE_EVERY = 3600.0  # seconds between forgetting periods that are over


def _keys(scope: int, user_id: int, day: str, host_day: str) -> tuple[Key, ...]:
    """The counters one amount goes to: member, server and host, each by day and by month."""
    return (
        ("member", scope, user_id, day),
        ("member", scope, user_id, local_month(day)),
        ("server", scope, day),
        ("server", scope, local_month(day)),
        ("host", host_day),
        ("host", local_month(host_day)),
    )


class SpendBook:
    """Spent and held amounts per counter (see ``_keys``)."""

    def __init__(self) -> None:
        self.spent: defaultdict[Key, Decimal] = defaultdict(Decimal)
        self.held: defaultdict[Key, Decimal] = defaultdict(Decimal)
        self.holds: dict[str, SpendHold] = {}

    def clear(self) -> None:
        """Forget everything (before loading again)."""
        self.spent.clear()
        self.held.clear()
        self.holds.clear()

    def add(self, scope: int, user_id: int, day: str, host_day: str, amount: Decimal) -> None:
        """Count money spent (negative to take it back)."""
        for key in _keys(scope, user_id, day, host_day):
            self.spent[key] += amount

    def hold(self, hold: SpendHold) -> None:
        """Hold a running job's estimate."""
        self.holds[hold.job_id] = hold
        for key in _keys(hold.scope, hold.user_id, hold.day, hold.host_day):
            self.held[key] += hold.amount

    def release(self, job_id: str) -> SpendHold | None:
        """Let go of a job's hold (None when it had none)."""
        hold = self.holds.pop(job_id, None)
        if hold is not None:
            for key in _keys(hold.scope, hold.user_id, hold.day, hold.host_day):
                self.held[key] -= hold.amount
        return hold

    def spending(
        self, scope: int, user_id: int, day: str, host_day: str, *, held: bool = True
    ) -> Spending:
        """What was spent on ``day`` and in its month (with running jobs' holds if ``held``)."""
        keys = _keys(scope, user_id, day, host_day)

        def total(key: Key) -> Decimal:
            return self.spent.get(key, Decimal(0)) + (self.held.get(key, Decimal(0)) * held)

        amounts = [total(key) for key in keys]
        return Spending(
            member=Spent(amounts[0], amounts[1]),
            server=Spent(amounts[2], amounts[3]),
            host=Spent(amounts[4], amounts[5]),
        )

    def prune(self, now: float) -> None:
        """Forget days and months that are over everywhere (the store keeps the books)."""
        today = datetime.fromtimestamp(now, UTC).date()
        oldest_day = (today - timedelta(days=2)).isoformat()
        oldest_month = (today.replace(day=1) - timedelta(days=1)).isoformat()[:7]
        for counters in (self.spent, self.held):
            for key in list(counters):
                period = str(key[-1])
                old = period < oldest_month if len(period) == 7 else period < oldest_day
                if old or counters[key] == 0:
                    del counters[key]


class Budgets:
    """Checks jobs against the budgets that apply and keeps the books (the policy's part)."""

    def __init__(
        self, store: SpendStore, *, host: Budget = NO_BUDGET, currency: str = "USD"
    ) -> None:
        self.store = store
        self.host = host  # GLOBAL_MONTHLY_BUDGET / GLOBAL_DAILY_BUDGET, for all servers
        self.currency = currency  # of the primary image service's price table
        self.book = SpendBook()
        self._pruned_at = 0.0

    async def load(self, now: float, zone_of: Callable[[int | None], tzinfo]) -> None:
        """Read this month's books (and last month's, for every timezone) and running holds
        (held in memory only alone on the database: a process does not learn when another
        finishes its jobs, so it would hold their money for ever; the store's holds count)."""
        self.book.clear()
        start = datetime.fromtimestamp(now, UTC).date().replace(day=1) - timedelta(days=1)
        since = datetime(start.year, start.month, 1, tzinfo=UTC).timestamp()
        for entry in await self.store.spend_since(since):
            if entry.cost is not None and entry.currency == self.currency:
                host_day = utc_day(entry.accepted_at)
                self.book.add(entry.guild_id, entry.user_id, entry.day, host_day, entry.cost)
        holds = []
        for job in await self.store.pending_spend():
            if isinstance(job.estimated_cost, Decimal):
                scope = job.guild_id if job.guild_id is not None else DM_SCOPE
                day = local_day(job.created_at, zone_of(job.guild_id))
                host_day = utc_day(job.created_at)
                amount = job.estimated_cost
                holds.append(SpendHold(job.job_id, scope, job.user_id, day, host_day, amount))
        if not self.store.shared:  # shared: other processes finish most of them, not this one
            for hold in holds:
                self.book.hold(hold)
        await self.store.adopt_spend_holds(holds, currency=self.currency)

    def spending(self, ctx_scope: int, user_id: int, day: str, now: float) -> Spending:
        """What a member, their server and every server spent (and hold) today and this month."""
        return self.book.spending(ctx_scope, user_id, day, utc_day(now))

    def refusal(
        self, settings: GuildSettings, ctx: JobContext, *, day: str, now: float
    ) -> PolicyRefusal | None:
        """The budget refusal for ``ctx`` now, or None when its estimate fits every budget."""
        if ctx.cost is None or not budgets_for(settings, ctx, Spending(), self.host):
            return None  # nothing to check: no budget applies (the usual case), no estimate
        try:
            check_budget(
                settings,
                ctx,
                self.spending(ctx.scope, ctx.user_id, day, now),
                host=self.host,
                currency=self.currency,
                now=now,
            )
        except PolicyRefusal as refusal:
            return refusal
        return None

    def hold(self, ctx: JobContext, job_id: str, *, day: str, now: float) -> None:
        """Hold the job's estimate (a known one; an unknown one passed only without budgets)."""
        if isinstance(ctx.cost, Decimal) and ctx.cost > 0:
            hold = SpendHold(job_id, ctx.scope, ctx.user_id, day, utc_day(now), ctx.cost)
            self.book.hold(hold)

    async def confirm(
        self, settings: GuildSettings, ctx: JobContext, job_id: str, *, now: float
    ) -> None:
        """``hold``'s estimate again in the store, checked against what every process spent
        and holds; raises the budget's ``PolicyRefusal`` (and holds nothing) when it no longer
        fits: another process may have spent the last of it since the check in memory."""
        claim = self.claim(settings, ctx, job_id, now=now)
        if claim is not None:
            await self.store.hold_spend(
                claim.hold,
                currency=claim.currency,
                decide=claim.decide,
                everywhere=claim.everywhere,
            )

    def claim(
        self, settings: GuildSettings, ctx: JobContext, job_id: str, *, now: float
    ) -> SpendClaim | None:
        """What ``confirm`` holds in the store (None: nothing, the job has no estimate held or
        already finished), to write with the job's other acceptance claims."""
        hold = self.book.holds.get(job_id)
        if hold is None:
            return None

        def decide(spending: Spending) -> None:
            check_budget(settings, ctx, spending, host=self.host, currency=self.currency, now=now)

        checked = bool(budgets_for(settings, ctx, Spending(), self.host))
        return SpendClaim(
            hold, self.currency, decide if checked else None, everywhere=self.host.set
        )

    def release(self, job_id: str) -> SpendHold | None:
        """Let go of a job's hold (not accepted after all, or finished)."""
        return self.book.release(job_id)

    async def settle(
        self,
        job: JobRecord,
        event: JobCompleted | JobFailed,
        *,
        scope: int,
        day: str,
        now: float,
    ) -> None:
        """A job finished: its hold becomes its final cost (``job.cost``, set by the engine),
        recorded once (idempotent)."""
        hold = self.release(job.id)
        images = len(event.images) if isinstance(event, JobCompleted) else 0
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.book.prune(now)
        cost = job.cost if isinstance(job.cost, Decimal) else None
        if job.user_id is None or job.cost is None or (cost == Decimal(0) and images == 0):
            await self.store.drop_spend_hold(job.id)  # nothing made, nothing charged: no line
            return
        host_day = hold.host_day if hold is not None else utc_day(job.created_at)
        counted = cost is not None and job.currency == self.currency
        if counted:
            assert cost is not None
            self.book.add(scope, job.user_id, day, host_day, cost)
        entry = SpendEntry(
            job_id=job.id,
            guild_id=scope,
            user_id=job.user_id,
            day=day,
            accepted_at=job.created_at,
            images=images,
            cost=cost,
            currency=job.currency or self.currency,
        )
        if not await self.store.record_spend(entry) and counted:
            assert cost is not None
            self.book.add(scope, job.user_id, day, host_day, -cost)  # recorded before a restart
