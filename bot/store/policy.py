"""Repositories for community controls: server settings, blocked terms, usage and the audit log.

The policy service keeps what the rules need in memory and writes through to these tables, so a
check never waits on the database; reports (``/usage``) read them directly.
"""

from __future__ import annotations

import json
import logging
import time

from bot.policy.models import GuildSettings
from bot.policy.records import AuditEntry, DayUsage, EventCount, MemberUsage, PendingJob
from bot.store.database import Database, Transaction
from bot.store.policy_shared import SharedLimits
from bot.store.spend_holds import SpendHolds
from bot.store.spending import SpendRows

log = logging.getLogger(__name__)


class SqlPolicyStore(SharedLimits, SpendRows, SpendHolds):
    """The ``PolicyStore`` on a SQLite or PostgreSQL database (the policy tables of migration 002,
    the spending books of 004 in ``SpendRows``, the shared limits of 007 in ``SharedLimits``, the
    budget holds of 008 in ``SpendHolds``)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def shared(self) -> bool:
        """Whether other processes use the same database (PostgreSQL)."""
        return self.database.shared

    # ------------------------------------------------------------------ settings and terms

    async def all_settings(self) -> dict[int, GuildSettings]:
        """Every server's stored settings."""
        rows = await self.database.fetch_all("SELECT guild_id, settings FROM guild_settings")
        found: dict[int, GuildSettings] = {}
        for row in rows:
            try:
                found[int(row["guild_id"])] = GuildSettings.model_validate_json(row["settings"])
            except ValueError:
                log.exception("guild %s: stored settings are invalid; using defaults", row[0])
        return found

    async def save_settings(
        self, guild_id: int, settings: GuildSettings, *, by: int | None = None
    ) -> None:
        """Insert or replace a server's settings (and tell the other processes)."""

        async def work(tx: Transaction) -> None:
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, settings, updated_at, updated_by)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " settings = excluded.settings, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                (guild_id, settings.model_dump_json(), time.time(), by),
            )
            await self._bump(tx, guild_id)

        await self.database.transaction(work)

    async def all_terms(self) -> dict[int, list[str]]:
        """Every server's blocked terms, oldest first."""
        rows = await self.database.fetch_all(
            "SELECT guild_id, term FROM blocked_terms ORDER BY added_at, term"
        )
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(int(row["guild_id"]), []).append(str(row["term"]))
        return found

    async def add_term(self, guild_id: int, term: str, normalized: str, *, by: int | None) -> bool:
        """Add a term; False when one with the same spelling is already blocked."""

        async def work(tx: Transaction) -> bool:
            changed = await tx.execute(
                "INSERT INTO blocked_terms (guild_id, term, normalized, added_by, added_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (guild_id, term, normalized, by, time.time()),
            )
            if changed:
                await self._bump(tx, guild_id)
            return changed > 0

        return await self.database.transaction(work)

    async def remove_term(self, guild_id: int, normalized: str) -> bool:
        """Remove a term by its normalized spelling; False when it was not there."""

        async def work(tx: Transaction) -> bool:
            changed = await tx.execute(
                "DELETE FROM blocked_terms WHERE guild_id = ? AND normalized = ?",
                (guild_id, normalized),
            )
            if changed:
                await self._bump(tx, guild_id)
            return changed > 0

        return await self.database.transaction(work)

    # ------------------------------------------------------------------ usage

    async def record_usage(
        self, job_id: str, guild_id: int, user_id: int, day: str, images: int
    ) -> bool:
        """Count a completed job's images once; False if this job was already counted."""
        changed = await self.database.execute(
            "INSERT INTO usage (job_id, guild_id, user_id, day, images, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (job_id, guild_id, user_id, day, images, time.time()),
        )
        return changed > 0

    async def usage_since(self, first_day: str) -> list[tuple[int, str, int, int]]:
        """(guild, day, member, images) for every day from ``first_day`` (to load counters)."""
        rows = await self.database.fetch_all(
            "SELECT guild_id, day, user_id, SUM(images) AS images FROM usage WHERE day >= ?"
            " GROUP BY guild_id, day, user_id",
            (first_day,),
        )
        return [
            (int(r["guild_id"]), str(r["day"]), int(r["user_id"]), int(r["images"])) for r in rows
        ]

    async def pending_jobs(self) -> list[PendingJob]:
        """Accepted Discord jobs that have not finished (their images are reserved)."""
        rows = await self.database.fetch_all(
            "SELECT id, guild_id, user_id, request, created_at"
            " FROM jobs WHERE origin = 'discord' AND user_id IS NOT NULL"
            " AND state NOT IN ('delivered', 'failed', 'cancelled')"
        )
        return [
            PendingJob(
                job_id=r["id"],
                guild_id=r["guild_id"],
                user_id=r["user_id"],
                n=int(json.loads(r["request"]).get("n") or 1),
                created_at=r["created_at"],
            )
            for r in rows
        ]

    async def last_jobs_since(self, since: float) -> list[tuple[int | None, int, float]]:
        """(guild, member, latest job time) for members who started a job after ``since``."""
        rows = await self.database.fetch_all(
            "SELECT guild_id, user_id, MAX(created_at) AS at FROM jobs"
            " WHERE origin = 'discord' AND user_id IS NOT NULL AND created_at >= ?"
            " GROUP BY guild_id, user_id",
            (since,),
        )
        return [(r["guild_id"], int(r["user_id"]), float(r["at"])) for r in rows]

    # ------------------------------------------------------------------ audit log

    async def add_audit(self, entry: AuditEntry) -> bool:
        """Append an entry; False if this job's outcome was already logged (hooks may rerun)."""
        changed = await self.database.execute(
            "INSERT INTO audit_log (guild_id, at, day, event, user_id, channel_id,"
            " job_id, rule, prompt, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (
                entry.guild_id,
                entry.at,
                entry.day,
                entry.event,
                entry.user_id,
                entry.channel_id,
                entry.job_id,
                entry.rule,
                entry.prompt,
                entry.detail,
            ),
        )
        return changed > 0

    # ------------------------------------------------------------------ reports

    async def usage_by_day(
        self, guild_id: int, first_day: str, *, user_id: int | None = None
    ) -> list[DayUsage]:
        """Images and jobs per day from ``first_day``, newest first (one member if given)."""
        member, params = _member_filter(user_id)
        rows = await self.database.fetch_all(
            "SELECT day, SUM(images) AS images, COUNT(*) AS jobs FROM usage"  # noqa: S608 - constants
            f" WHERE guild_id = ? AND day >= ?{member} GROUP BY day ORDER BY day DESC",
            (guild_id, first_day, *params),
        )
        return [DayUsage(day=r["day"], images=r["images"], jobs=r["jobs"]) for r in rows]

    async def usage_by_member(
        self, guild_id: int, first_day: str, *, limit: int = 15
    ) -> list[MemberUsage]:
        """The members who made the most images since ``first_day``."""
        rows = await self.database.fetch_all(
            "SELECT user_id, SUM(images) AS images, COUNT(*) AS jobs FROM usage"
            " WHERE guild_id = ? AND day >= ? GROUP BY user_id ORDER BY images DESC, user_id"
            " LIMIT ?",
            (guild_id, first_day, limit),
        )
        return [MemberUsage(user_id=r["user_id"], images=r["images"], jobs=r["jobs"]) for r in rows]

    async def event_counts(
        self, guild_id: int, first_day: str, *, user_id: int | None = None
    ) -> list[EventCount]:
        """Failures and refusals since ``first_day``, by event and rule, most frequent first."""
        member, params = _member_filter(user_id)
        rows = await self.database.fetch_all(
            "SELECT event, rule, COUNT(*) AS count FROM audit_log WHERE guild_id = ? AND day >= ?"  # noqa: S608 - constants
            f" AND event IN ('failed', 'refused'){member}"
            " GROUP BY event, rule ORDER BY count DESC, event, rule",
            (guild_id, first_day, *params),
        )
        return [EventCount(event=r["event"], rule=r["rule"], count=r["count"]) for r in rows]

    async def audit_entries(self, guild_id: int, *, limit: int = 20) -> list[AuditEntry]:
        """The latest audit entries of a server, newest first."""
        rows = await self.database.fetch_all(
            "SELECT * FROM audit_log WHERE guild_id = ? ORDER BY at DESC, id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [
            AuditEntry.model_validate(
                {key: row[key] for key in AuditEntry.model_fields if key != "detail_text"}
            )
            for row in rows
        ]


SqlitePolicyStore = SqlPolicyStore  # the name before PostgreSQL; kept for callers not yet renamed


def _member_filter(user_id: int | None) -> tuple[str, tuple[int, ...]]:
    """An ``AND user_id = ?`` clause for one member, or nothing for everyone."""
    return ("", ()) if user_id is None else (" AND user_id = ?", (user_id,))
