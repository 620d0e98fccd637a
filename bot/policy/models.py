"""Plain data for policy: a server's settings and the facts about one job request.

Both are pydantic models so settings round-trip through the database as JSON and a request's
facts can be built by any front end (the Discord cogs, tests) without importing discord.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from bot.i18n import LOCALES
from bot.jobs.records import JobRecord
from bot.options import Resolution
from bot.policy.budget import NO_BUDGET, Budget
from bot.policy.defaults import JobDefaults
from bot.providers.prices import Price

log = logging.getLogger(__name__)

RESOLUTION_ORDER: tuple[Resolution, ...] = (Resolution.R1K, Resolution.R2K, Resolution.R4K)
MAX_N = 10
DM_SCOPE = 0  # usage and settings key for direct messages, which belong to no server


class JobCommand(StrEnum):
    """The slash commands that start image jobs: the one list of them.

    Servers switch each on or off (``GuildSettings.commands``); the rule that refuses a switched
    off command and the choices of ``/easel command`` are derived from this list, so a new job
    command is added here and in its own cog, nowhere else.
    """

    IMAGINE = "imagine"
    EDIT = "edit"
    BLEND = "blend"


class ButtonAccess(StrEnum):
    """Who may reuse a member's result: its buttons (re-roll, vary, upscale, edit), ``/show``
    and Edit image on it."""

    REQUESTER = "requester"  # the member who started the job (and server admins)
    ANYONE = "anyone"


class GuildSettings(BaseModel):
    """Everything a server's admins can change. Defaults: open, unlimited, DMs are separate.

    ``None`` daily limits mean no limit. Channel ids may also be category ids (a rule on a
    category covers its channels) and threads follow their parent channel.
    """

    model_config = ConfigDict(frozen=True)

    # where
    allowed_channels: frozenset[int] = frozenset()  # empty: every channel not denied
    denied_channels: frozenset[int] = frozenset()
    threads: bool = True
    # who
    required_roles: frozenset[int] = frozenset()  # a member needs any one of them
    banned_members: frozenset[int] = frozenset()
    # how much
    member_daily_images: int | None = Field(default=None, ge=0)
    server_daily_images: int | None = Field(default=None, ge=0)
    cooldown_seconds: int = Field(default=0, ge=0, le=86_400)
    max_n: int = Field(default=MAX_N, ge=1, le=MAX_N)
    max_resolution: Resolution = Resolution.R4K
    commands: frozenset[JobCommand] = frozenset(JobCommand)
    timezone: str = "UTC"  # the day (and daily quotas) start at midnight here
    # what
    nsfw_only: bool = False
    spoilers: bool = False
    # results and moderation
    button_access: ButtonAccess = ButtonAccess.REQUESTER
    moderation_channel: int | None = None
    # defaults for left-out options (/easel defaults): the server's, and per channel or category
    defaults: JobDefaults = JobDefaults()
    channel_defaults: dict[int, JobDefaults] = Field(default_factory=dict)
    # money (/easel budget), in the image service's currency: the whole server, each member,
    # and members an admin gave a budget of their own
    server_budget: Budget = NO_BUDGET
    member_budget: Budget = NO_BUDGET
    member_budgets: dict[int, Budget] = Field(default_factory=dict)
    # The language Easel speaks here (a shipped locale, e.g. "ja"); None: each member's own.
    language: str | None = None

    @field_serializer(
        "allowed_channels", "denied_channels", "required_roles", "banned_members", "commands"
    )
    def _sorted(self, values: frozenset[Any]) -> list[Any]:
        """Sets are stored and compared as sorted lists: the same settings, the same JSON."""
        return sorted(values)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        zone_of(value)  # raises ValueError for an unknown name
        return value

    @field_validator("language")
    @classmethod
    def _shipped_language(cls, value: str | None) -> str | None:
        if value is not None and value not in LOCALES:
            raise ValueError(f"unknown language {value!r}; one of {', '.join(LOCALES)}")
        return value

    @property
    def zone(self) -> tzinfo:
        """The server's timezone."""
        return zone_of(self.timezone)

    def budget_of(self, user_id: int) -> Budget:
        """A member's budget: their own if an admin set one, else every member's."""
        return self.member_budgets.get(user_id, self.member_budget)


@lru_cache(maxsize=512)
def zone_of(name: str) -> tzinfo:
    """A timezone by IANA name; ValueError names the problem (cached: checks run per job)."""
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name like Europe/Paris or America/New_York"
        ) from None


def local_day(timestamp: float, zone: tzinfo) -> str:
    """The calendar day (ISO date) a unix time falls on in ``zone``."""
    return datetime.fromtimestamp(timestamp, zone).date().isoformat()


def next_midnight(timestamp: float, zone: tzinfo) -> int:
    """Unix time of the next midnight in ``zone`` after ``timestamp`` (when quotas reset)."""
    now = datetime.fromtimestamp(timestamp, zone)
    tomorrow = now.date() + timedelta(days=1)
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone)
    return int(midnight.timestamp())


def resolution_allowed(resolution: Resolution, limit: Resolution) -> bool:
    """Whether ``resolution`` is at most ``limit`` (4K costs more upstream)."""
    return RESOLUTION_ORDER.index(resolution) <= RESOLUTION_ORDER.index(limit)


class JobContext(BaseModel):
    """The facts about one request the rules look at, gathered by the front end."""

    model_config = ConfigDict(frozen=True)

    guild_id: int | None  # None: a direct message
    channel_id: int | None
    user_id: int
    command: str = JobCommand.IMAGINE  # a JobCommand; any other name is not switchable
    prompt: str = ""
    n: int = 1
    resolution: Resolution = Resolution.R1K
    parent_channel_id: int | None = None  # a thread's channel
    category_id: int | None = None
    in_thread: bool = False
    channel_nsfw: bool = False
    role_ids: frozenset[int] = frozenset()
    is_admin: bool = False  # Manage Server: never locked out by the role rule
    # What the job will cost, and one image of it (for "ask for n:…"); None: not priced
    cost: Price | None = None
    image_cost: Price | None = None

    @property
    def scope(self) -> int:
        """The key usage is counted under: the server, or ``DM_SCOPE``."""
        return self.guild_id if self.guild_id is not None else DM_SCOPE

    @property
    def places(self) -> tuple[int, ...]:
        """The channel, its thread parent and its category: where channel rules may match."""
        return tuple(
            place
            for place in (self.channel_id, self.parent_channel_id, self.category_id)
            if place is not None
        )


class PastJob(BaseModel):
    """The facts about a stored job the rules look at before anyone shows or reuses it."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    guild_id: int | None  # None: made in a direct message, or from the command line
    user_id: int | None  # None: not a member's (the command line)
    command: str  # the JobCommand that made it (an edit of a result counts as ``edit``)
    prompt: str
    deleted: bool = False  # its result was deleted: nobody may bring it back
    made_in_nsfw: bool = False  # made in an age-restricted channel

    @classmethod
    def of(cls, job: JobRecord, *, made_in_nsfw: bool = False) -> PastJob:
        """The facts of a job record."""
        return cls(
            job_id=job.id,
            guild_id=job.guild_id,
            user_id=job.user_id,
            command=job_command(job),
            prompt=job.request.prompt,
            deleted=job.deleted,
            made_in_nsfw=made_in_nsfw,
        )


def job_command(job: JobRecord) -> str:
    """The command that made ``job`` (an edit of a result counts as ``edit``)."""
    return JobCommand.EDIT if job.action == "edit" else job.kind
