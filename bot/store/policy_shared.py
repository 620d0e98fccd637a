"""The policy limits every process shares: quota reservations, cooldown clocks, settings versions.

A quota is reserved in one transaction locked on the server: the usage of every process is
read, the policy decides, and the reservation is written before the lock is let go, so two
processes cannot both grant a server's or a member's last image. Reservations arriving together
share that transaction (``bot.store.batch``: group commit), with their jobs' budget holds and
records. Settings and blocked-term changes bump a per-server version that the other processes
poll.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.policy.acceptance import Acceptance, QuotaClaim
from bot.policy.models import GuildSettings
from bot.policy.records import Reservation
from bot.policy.rules import Usage
from bot.store.batch import group_commit
from bot.store.database import Database, Transaction

FINISHED = ("delivered", "failed", "cancelled")


class SharedLimits:
    """The shared half of the SQL policy store (mixed into ``SqlPolicyStore``)."""

    database: Database

    async def reserve(
        self, hold: Reservation, *, at: float, decide: Callable[[Usage], None]
    ) -> None:
        """Store ``hold`` (made ``at``) if ``decide`` accepts the day's usage of every process.

        ``decide`` raises (a ``PolicyRefusal``) to refuse; then nothing is written. It may be
        called again if the transaction has to be retried, so it must only decide.
        """
        claim = QuotaClaim(hold, at, decide)
        await group_commit(self.database).accept(Acceptance(quota=claim))

    async def accept(self, acceptance: Acceptance) -> None:
        """Decide and write a job's reservation, budget hold and record together, grouped with
        the acceptances arriving meanwhile (``bot.store.batch``); raise its refusal, if any."""
        await group_commit(self.database).accept(acceptance)

    async def release_reservation(self, job_id: str, *, previous_job_at: float | None) -> None:
        """Let go of a job that was not accepted after all: its images, its money, its cooldown."""

        async def work(tx: Transaction) -> None:
            await tx.execute("DELETE FROM spend_holds WHERE job_id = ?", (job_id,))
            row = await tx.fetch_one(
                "SELECT scope, user_id, created_at FROM reservations WHERE job_id = ?", (job_id,)
            )
            if row is None:
                return
            await tx.execute("DELETE FROM reservations WHERE job_id = ?", (job_id,))
            key = (row["scope"], row["user_id"], row["created_at"])
            if previous_job_at is None:
                await tx.execute(
                    "DELETE FROM last_jobs WHERE scope = ? AND user_id = ? AND at = ?", key
                )
            else:
                await tx.execute(
                    "UPDATE last_jobs SET at = ? WHERE scope = ? AND user_id = ? AND at = ?",
                    (previous_job_at, *key),
                )

        await self.database.transaction(work)

    async def settle(
        self, job_id: str, *, scope: int, user_id: int, day: str, images: int, at: float
    ) -> bool:
        """A job finished: its reservation becomes ``images`` of usage (0: nothing counted).

        Returns False when this job was counted before (a finish hook may run twice).
        """

        async def work(tx: Transaction) -> bool:
            counted = True
            if images > 0:
                added = await tx.execute(
                    "INSERT INTO usage (job_id, guild_id, user_id, day, images, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (job_id, scope, user_id, day, images, at),
                )
                counted = added > 0
            await tx.execute("DELETE FROM reservations WHERE job_id = ?", (job_id,))
            return counted

        return await self.database.transaction(work)

    async def adopt_reservations(self, held: list[tuple[str, int, str, int, int, float]]) -> None:
        """Record (job, scope, day, member, images, at) holds of jobs accepted before the table
        existed (an upgrade), so every process counts them; existing ones are kept."""
        for values in held:
            await self.database.execute(
                "INSERT INTO reservations (job_id, scope, day, user_id, images, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
                values,
            )

    async def sweep_reservations(self, before: float) -> int:
        """Drop quota and budget holds older than ``before`` whose job is finished or was never
        recorded (a process died between reserving and accepting); returns how many."""
        swept = 0
        for table in ("reservations", "spend_holds"):
            swept += await self.database.execute(
                f"DELETE FROM {table} WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM jobs"  # noqa: S608 - constants
                f" WHERE jobs.id = {table}.job_id AND jobs.state NOT IN {FINISHED!r})",
                (before,),
            )
        return swept

    async def member_usage(self, scope: int, day: str, user_id: int) -> tuple[int, int, int, int]:
        """(member used, member pending, server used, server pending) across every process."""
        row = await self.database.fetch_one(
            "SELECT"
            " (SELECT COALESCE(SUM(images), 0) FROM usage"
            "  WHERE guild_id = ? AND day = ? AND user_id = ?) AS used,"
            " (SELECT COALESCE(SUM(images), 0) FROM reservations"
            "  WHERE scope = ? AND day = ? AND user_id = ?) AS pending,"
            " (SELECT COALESCE(SUM(images), 0) FROM usage WHERE guild_id = ? AND day = ?)"
            " AS server_used,"
            " (SELECT COALESCE(SUM(images), 0) FROM reservations WHERE scope = ? AND day = ?)"
            " AS server_pending",
            (scope, day, user_id, scope, day, user_id, scope, day, scope, day),
        )
        assert row is not None
        return (
            int(row["used"]),
            int(row["pending"]),
            int(row["server_used"]),
            int(row["server_pending"]),
        )

    # ------------------------------------------------------------------ settings versions

    async def changed_since(self, since: float) -> tuple[float, dict[int, int]]:
        """The database's time now and the servers whose settings changed since ``since``
        (with their versions), for a process catching up with the others' changes."""
        now = await self.database.clock()
        rows = await self.database.fetch_all(
            "SELECT guild_id, version FROM policy_versions WHERE changed_at >= ?", (since,)
        )
        return now, {int(row["guild_id"]): int(row["version"]) for row in rows}

    async def guild_policy(self, guild_id: int) -> tuple[GuildSettings | None, list[str]]:
        """One server's stored settings (None: defaults) and blocked terms, oldest first."""
        row = await self.database.fetch_one(
            "SELECT settings FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        terms = await self.database.fetch_all(
            "SELECT term FROM blocked_terms WHERE guild_id = ? ORDER BY added_at, term",
            (guild_id,),
        )
        settings = None if row is None else GuildSettings.model_validate_json(row["settings"])
        return settings, [str(term["term"]) for term in terms]

    async def _bump(self, tx: Transaction, guild_id: int) -> None:
        """Mark a server's settings as changed, in the transaction that changed them."""
        now = self.database.now
        await tx.execute(
            "INSERT INTO policy_versions (guild_id, version, changed_at)"  # noqa: S608 - constants
            f" VALUES (?, 1, {now}) ON CONFLICT (guild_id) DO UPDATE SET"
            f" version = policy_versions.version + 1, changed_at = {now}",
            (guild_id,),
        )
