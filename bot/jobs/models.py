"""Plain data for jobs: what a member asked for, and the events a running job reports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.failures import FailureKind
from bot.i18n.text import StoredText, Text, _, _n
from bot.options import OutputFormat, Quality, Ratio, Resolution


class InputImage(BaseModel):
    """An image the member supplied (downloaded at once: Discord attachment URLs expire)."""

    model_config = ConfigDict(frozen=True)

    filename: str
    data: bytes = Field(repr=False)
    content_type: str | None = None


class JobRequest(BaseModel):
    """What a member asked for. Types are checked here; limits in ``bot.jobs.validation``."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    ratio: Ratio = Ratio.SQUARE
    resolution: Resolution | None = None  # None: the smallest tier that offers the ratio
    quality: Quality | None = None
    n: int = 1
    output_format: OutputFormat = OutputFormat.PNG
    compression: int | None = None  # JPEG quality 0-100 (100 = best); only with jpeg
    references: tuple[InputImage, ...] = ()
    # An edit goes to the editing model with the references as the images to change (or blend);
    # ``mask`` (edits only) marks what to repaint: transparent, or white in a black-and-white mask.
    edit: bool = False
    mask: InputImage | None = None


DefaultSource = Literal["server", "channel", "member"]


class AppliedDefault(BaseModel):
    """An option the member left out, filled from a default (the job's message says so).

    ``skipped`` says why a default was left out instead (it does not fit the typed options, or
    the server's rules or the image service changed since it was set).
    """

    model_config = ConfigDict(frozen=True)

    option: Literal["ratio", "resolution", "quality", "output_format", "n"]
    value: str
    source: DefaultSource
    place: int | None = None  # the channel (or category) whose default it was
    skipped: StoredText | None = None


class ResolvedRequest(BaseModel):
    """A request that passed validation, with the exact pixel size it will produce."""

    model_config = ConfigDict(frozen=True)

    request: JobRequest
    resolution: Resolution
    width: int
    height: int


class ResultImage(BaseModel):
    """One finished image, ready to post."""

    model_config = ConfigDict(frozen=True)

    filename: str
    data: bytes = Field(repr=False)
    width: int
    height: int
    output_format: OutputFormat
    note: StoredText | None = None  # set when the file was re-encoded or downscaled to fit


class JobQueued(BaseModel):
    """Accepted and waiting for a slot."""

    kind: Literal["queued"] = "queued"
    position: int | None = None


class JobUploading(BaseModel):
    """Uploading the member's reference images to get public URLs."""

    kind: Literal["uploading"] = "uploading"
    done: int
    total: int


class JobWaiting(BaseModel):
    """Every image service that can take the job failed at submit; it is tried again soon.

    Nothing was spent: the job waits out the outage within the engine's submit budget.
    """

    kind: Literal["waiting"] = "waiting"
    reason: StoredText  # the last error, safe to show
    retry_at: float  # unix seconds of the next try


class JobSubmitted(BaseModel):
    """The upstream task exists."""

    kind: Literal["submitted"] = "submitted"
    task_id: str


class JobProgress(BaseModel):
    """The upstream task reported progress (and, from streaming APIs, a preview frame)."""

    kind: Literal["progress"] = "progress"
    percent: int
    status: str
    # A small JPEG of the latest partial image: shown while working, never delivered as a result.
    preview: bytes | None = Field(default=None, repr=False)
    preview_index: int | None = None


class JobDownloading(BaseModel):
    """The task finished; fetching and fitting the results."""

    kind: Literal["downloading"] = "downloading"
    count: int


class JobCompleted(BaseModel):
    """Finished: the images to post, and how many of those asked for did not come, and why.

    Never empty: a job without a single image ends with ``JobFailed``. Quotas count ``images``.
    """

    kind: Literal["completed"] = "completed"
    task_id: str
    images: tuple[ResultImage, ...]
    elapsed: float
    missing: int = 0  # images asked for that failed (a looped call failed, fewer were sent)
    missing_reason: StoredText | None = None  # why, safe to show

    @property
    def requested(self) -> int:
        """How many images the member asked for."""
        return len(self.images) + self.missing

    def shortfall(self) -> Text | None:
        """ "2 of 3 images failed: <reason>", or None when every image asked for came."""
        if not self.missing:
            return None
        reason = self.missing_reason or _("the image service did not send them")
        return _n(
            "{missing} of {count} image failed: {reason}",
            "{missing} of {count} images failed: {reason}",
            self.requested,
            missing=self.missing,
            reason=reason,
        )


class JobFailed(BaseModel):
    """Finished without images; ``reason`` is safe to show to the member (in their language)."""

    kind: Literal["failed"] = "failed"
    reason: StoredText
    failure: FailureKind
    task_id: str | None = None


JobEvent = Annotated[
    JobQueued
    | JobUploading
    | JobWaiting
    | JobSubmitted
    | JobProgress
    | JobDownloading
    | JobCompleted
    | JobFailed,
    Field(discriminator="kind"),
]
