"""A job as the engine keeps it: the persisted record and the small types inside it.

These belong to the jobs domain; ``bot.store`` only saves and loads them (see ``bot.jobs.ports``).
A job row is written before every irreversible step (submit, delivery), so after a crash the
engine knows exactly where each accepted job stood and resumes it.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bot.errors import Audience
from bot.failures import FailureKind
from bot.i18n.text import StoredText
from bot.jobs.models import AppliedDefault, JobRequest, ResolvedRequest
from bot.options import OutputFormat, Resolution
from bot.providers.prices import Price

Origin = Literal["discord", "cli"]
JobAction = Literal["reroll", "vary", "upscale", "edit"]


class JobState(StrEnum):
    """Where a job stands. Only ``submitting`` is ambiguous after a crash (see the engine).

    ``receiving``: accepted and recorded, its input images still being read from where the
    member put them (``bot.jobs.intake``); a restart reads them again from their URLs.
    """

    RECEIVING = "receiving"
    QUEUED = "queued"
    UPLOADING = "uploading"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DOWNLOADED = "downloaded"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """No more upstream work: only telling the member may remain."""
        return self in {JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED}


class StoredFile(BaseModel):
    """A file kept for a job: an input reference or a fitted result.

    An input not read yet has no ``path`` but a ``source_url`` (a chat attachment) to read it
    from; it is stored, and the URL dropped, once the job has received it.
    """

    model_config = ConfigDict(frozen=True)

    path: str  # as the file store named it (relative to its root); "" while still to be read
    filename: str
    content_type: str
    source_url: str | None = None  # where to download an input that is not stored yet
    width: int = 0
    height: int = 0
    output_format: OutputFormat | None = None
    note: StoredText | None = None


class Delivery(BaseModel):
    """Where a job's messages go, and with which credentials while they last."""

    model_config = ConfigDict(frozen=True)

    application_id: int
    interaction_token: SecretStr | None = None  # dead after 15 minutes; erased once delivered
    token_expires_at: float = 0.0  # unix seconds
    message_id: int | None = None
    # Answered with a private "thinking…" (the job's images might still be refused): the public
    # message is posted once they passed, never found as the interaction's original.
    acknowledged_privately: bool = False
    # Set when the member (or a moderator) deleted the result: its files are erased and
    # nothing shows or reuses it again (``retention.erase``).
    deleted_at: float | None = None
    deleted_by: int | None = None


class JobRecord(BaseModel):
    """One accepted job, as persisted."""

    model_config = ConfigDict(validate_assignment=True)

    id: str
    origin: Origin = "discord"
    kind: str = "imagine"
    state: JobState = JobState.QUEUED
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None
    # The requester's language when they asked (Discord's locale): messages sent after the
    # interaction is gone (a late result, a DM, a resumed job) are written in it.
    locale: str | None = None
    request: JobRequest  # references carry no bytes here: they are in ``inputs``
    resolution: Resolution
    width: int
    height: int
    inputs: list[StoredFile] = Field(default_factory=list)
    client_reference: str
    provider: str | None = None  # the image API that took the task (failover may change it)
    task_id: str | None = None
    progress: int = 0
    size_limit: int | None = None
    delivery: Delivery | None = None
    results: list[StoredFile] = Field(default_factory=list)
    failure_kind: FailureKind | None = None
    # Why the job failed; on a job that delivered fewer images than asked, why the rest failed.
    failure_reason: StoredText | None = None
    notified: bool = False
    owner: str = ""  # the process whose lease this copy was loaded under ("" none)
    parent_id: str | None = None
    action: JobAction | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    submitted_at: float | None = None
    finished_at: float | None = None
    # Options filled from defaults, and money (``bot.jobs.costs``) in ``currency``: the estimate
    # when submitted, the final cost once the outcome is known; None until then.
    defaults: list[AppliedDefault] = Field(default_factory=list)
    currency: str | None = None
    estimated_cost: Price | None = None
    cost: Price | None = None

    def resolved(self) -> ResolvedRequest:
        """The request with the exact size it was accepted at (or moved to by a failover)."""
        return ResolvedRequest(
            request=self.request, resolution=self.resolution, width=self.width, height=self.height
        )

    @property
    def deleted(self) -> bool:
        """Whether its result was deleted: nobody may show or reuse it again."""
        return self.delivery is not None and self.delivery.deleted_at is not None

    @property
    def missing(self) -> int:
        """Images asked for that a finished job does not have (some calls or downloads failed)."""
        if not self.results:
            return 0
        return max(0, self.request.n - len(self.results))

    @property
    def audience(self) -> Audience:
        """Who reads this job's messages: the operator at a terminal, or a member in Discord."""
        return "operator" if self.origin == "cli" else "member"

    def reference_files(self) -> list[StoredFile]:
        """The stored input images, without an edit's mask (``Engine.accept`` stores it last)."""
        return self.inputs[: len(self.request.references)]

    def mask_file(self) -> StoredFile | None:
        """An edit's stored mask, or None when the job had no mask."""
        count = len(self.request.references)
        if self.request.mask is None or len(self.inputs) <= count:
            return None
        return self.inputs[count]
