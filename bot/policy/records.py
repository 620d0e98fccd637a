"""The policy's records: audit entries, usage reports, and the images reserved for running jobs.

They belong to the policy domain (the service keeps them, the moderation log and ``/usage``
show them); ``bot.store`` only persists them (``bot.policy.ports``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.i18n import Items, Text, _, _p, literal
from bot.policy.models import GuildSettings
from bot.providers.prices import Price

AuditEvent = Literal["completed", "failed", "refused", "settings"]


@dataclass(frozen=True)
class SpendHold:
    """Money held for an accepted job until it finishes (``bot.policy.spending``)."""

    job_id: str
    scope: int
    user_id: int
    day: str  # in the server's timezone
    host_day: str  # in UTC
    amount: Decimal


class AuditEntry(BaseModel):
    """One line of a server's audit log: a job's outcome, a refusal or a settings change."""

    model_config = ConfigDict(frozen=True)

    guild_id: int
    event: AuditEvent
    day: str
    at: float = Field(default_factory=time.time)
    user_id: int | None = None
    channel_id: int | None = None
    job_id: str | None = None
    rule: str | None = None
    prompt: str | None = None
    detail: str | None = None  # in English, as the audit log keeps it
    # The same detail for the moderation log to show in the server's language (not stored).
    detail_text: Text | None = Field(default=None, exclude=True)


class DayUsage(BaseModel):
    """Images and jobs on one day."""

    day: str
    images: int
    jobs: int


class MemberUsage(BaseModel):
    """One member's images and jobs over a period."""

    user_id: int
    images: int
    jobs: int


class EventCount(BaseModel):
    """How many audit entries of one event and rule (e.g. refused/member_quota)."""

    event: str
    rule: str | None
    count: int


class PendingJob(BaseModel):
    """An accepted job that has not finished: it holds a quota reservation."""

    job_id: str
    guild_id: int | None
    user_id: int
    n: int
    created_at: float


@dataclass(frozen=True)
class Reservation:
    """Images held for an accepted job until it finishes."""

    job_id: str
    scope: int
    day: str
    user_id: int
    images: int
    previous_job_at: float | None  # restored if the job is not accepted after all


class MemberStatus(BaseModel):
    """A member's standing today, for ``/usage``."""

    used: int
    pending: int
    limit: int | None
    server_used: int
    server_pending: int
    server_limit: int | None
    resets_at: int
    ready_at: float | None  # end of the cooldown, if one is running

    @property
    def left(self) -> int | None:
        """Images the member can still ask for today (None: no member limit)."""
        if self.limit is None:
            return None
        left = self.limit - self.used - self.pending
        if self.server_limit is not None:
            left = min(left, self.server_limit - self.server_used - self.server_pending)
        return max(0, left)


def settings_diff(before: GuildSettings, after: GuildSettings) -> str:
    """The changed settings as ``name: old → new`` lines, for the audit log."""
    old, new = json.loads(before.model_dump_json()), json.loads(after.model_dump_json())
    return "; ".join(f"`{key}`: {old[key]} → {new[key]}" for key in new if old.get(key) != new[key])


#: What each setting is called in the moderation log (its readers are the server's staff).
SETTING_NAMES: dict[str, Text] = {
    "allowed_channels": _p("setting", "allowed channels"),
    "denied_channels": _p("setting", "denied channels"),
    "threads": _p("setting", "threads"),
    "required_roles": _p("setting", "required roles"),
    "banned_members": _p("setting", "blocked members"),
    "member_daily_images": _p("setting", "images per member per day"),
    "server_daily_images": _p("setting", "images per server per day"),
    "cooldown_seconds": _p("setting", "cooldown (seconds)"),
    "max_n": _p("setting", "images per job"),
    "max_resolution": _p("setting", "largest resolution"),
    "commands": _p("setting", "commands on"),
    "timezone": _p("setting", "timezone"),
    "nsfw_only": _p("setting", "NSFW channels only"),
    "spoilers": _p("setting", "spoilers"),
    "button_access": _p("setting", "result buttons"),
    "moderation_channel": _p("setting", "moderation log"),
    "defaults": _p("setting", "server defaults"),
    "channel_defaults": _p("setting", "channel defaults"),
    "server_budget": _p("setting", "server budget"),
    "member_budget": _p("setting", "each member's budget"),
    "member_budgets": _p("setting", "members' own budgets"),
    "language": _p("setting", "language"),
}


def settings_changes(before: GuildSettings, after: GuildSettings) -> Text:
    """The changed settings as ``name: old → new``, each name in the reader's language (the
    values as Easel stores them: IDs, tiers, amounts)."""
    old, new = json.loads(before.model_dump_json()), json.loads(after.model_dump_json())
    changes = tuple(
        _(
            "{setting}: {old} → {new}",
            setting=SETTING_NAMES.get(key, literal(f"`{key}`")),
            old=_value(old.get(key)),
            new=_value(new[key]),
        )
        for key in new
        if old.get(key) != new[key]
    )
    return _("Changed: {changes}", changes=Items(items=changes, style="dots"))


def _value(value: object) -> Text | str:
    if value is None or value == [] or value == {}:
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


class SpendEntry(BaseModel):
    """What one finished job cost, on the day it was accepted (budgets and reports)."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    guild_id: int  # 0 for direct messages
    user_id: int
    day: str  # ISO date in the server's timezone
    accepted_at: float
    images: int
    cost: Decimal | None  # None: the price is unknown
    currency: str


class PendingSpend(BaseModel):
    """An accepted job that has not finished, with what it was estimated to cost."""

    job_id: str
    guild_id: int | None
    user_id: int
    created_at: float
    estimated_cost: Price | None


class JobSpend(BaseModel):
    """One finished job in a report: its images and cost (None: unknown), by day and member."""

    guild_id: int
    day: str
    user_id: int
    images: int
    cost: Decimal | None
    currency: str | None
