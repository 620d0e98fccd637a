"""The provider interface the engine talks to, and the plain data that crosses it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from bot.i18n.text import StoredText
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.providers.catalog import ModelSpec


class TaskState(StrEnum):
    """Where an upstream task is. Every status but completed and failed counts as running."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskSpec(BaseModel):
    """Everything a provider needs to submit one image task (already validated by the engine)."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    ratio: Ratio
    resolution: Resolution
    width: int
    height: int
    n: int = 1
    quality: Quality | None = None
    output_format: OutputFormat | None = None  # None: the provider's default (png)
    compression: int | None = None
    reference_urls: tuple[str, ...] = ()
    edit: bool = False  # send to the spec's editing model (``ModelSpec.for_edit``)
    mask_url: str | None = None  # PNG whose transparent pixels are repainted; edits only
    client_reference: str | None = None  # idempotency / lookup id where the API offers one


class TaskSnapshot(BaseModel):
    """One observation of an upstream task."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    state: TaskState
    status: str = Field(description="The raw status string the API reported.")
    progress: int = 0
    result_urls: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    safety_refusal: bool = False  # the failure came from the service's safety system
    # A completed task with fewer images than asked, when the provider knows why (some of its
    # looped calls failed); the engine says so to the member.
    shortfall_reason: StoredText | None = None
    # The latest streamed partial image (a preview, never a result) and its 0-based index.
    preview: bytes | None = Field(default=None, repr=False)
    preview_index: int | None = None


class ProviderTraits(BaseModel):
    """How the engine treats a provider's tasks: each provider class declares its own."""

    model_config = ConfigDict(frozen=True)

    # A poll is a status query to the API, spent from the account's query budget. Otherwise it
    # reads the task from memory: it is polled at once and often, outside the budget.
    polled_upstream: bool
    # A task submitted before a restart can still be looked up (by its client reference).
    survives_restart: bool
    # Uploads stay in this process (data URLs): there is no upload progress worth showing.
    instant_uploads: bool
    # The image comes back on the submitting call, so an outage during it can still fail over.
    synchronous: bool


# Tasks the API keeps (ToAPIs): budgeted polls, lookups after a restart, real uploads.
UPSTREAM_TASKS = ProviderTraits(
    polled_upstream=True, survives_restart=True, instant_uploads=False, synchronous=False
)
# Synchronous calls run as tasks inside this process (the OpenAI-compatible APIs).
IN_PROCESS_CALLS = ProviderTraits(
    polled_upstream=False, survives_restart=False, instant_uploads=True, synchronous=True
)


class ImageProvider(Protocol):
    """An async image-task API: upload inputs, submit, poll, download results.

    ``traits`` says how its tasks behave (see ``ProviderTraits``); ``label`` names the service
    to members.
    """

    name: str
    label: str
    spec: ModelSpec
    traits: ProviderTraits

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """Upload an input image and return a public URL the API can fetch."""
        ...

    async def submit(self, task: TaskSpec) -> TaskSnapshot:
        """Submit a task; returns its first snapshot (usually queued)."""
        ...

    async def poll(self, task_id: str, *, retry: bool = True) -> TaskSnapshot:
        """Read the task's current state (``retry=False``: the caller schedules retries)."""
        ...

    async def find_task(self, client_reference: str) -> TaskSnapshot | None:
        """The task submitted with this client reference, or None if it never arrived."""
        ...

    async def download(self, url: str) -> bytes:
        """Download one result image at once (result URLs expire)."""
        ...

    async def check(self) -> str:
        """Reach the API with the configured key; return a one-line description of the account."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
