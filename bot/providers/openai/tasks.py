"""OpenAI-compatible synchronous calls run as local tasks behind the engine's ``ImageProvider``.

``submit`` starts the call (``OpenAICompatClient``) as a local task and returns at once, ``poll``
reports it (with the latest preview) without any upstream query, and the results are served to
``download`` from memory. ``n`` is looped where the API makes one image per call. A local task
dies with the process: the engine tells the member and offers a retry instead of resuming it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import SecretStr

from bot.errors import (
    EaselError,
    InputError,
    ResultUnavailableError,
    SafetyRefusal,
    TaskNotFoundError,
)
from bot.i18n import Text, _
from bot.options import OutputFormat
from bot.providers._http import Sleep
from bot.providers.base import IN_PROCESS_CALLS, ImageProvider, TaskSnapshot, TaskSpec, TaskState
from bot.providers.catalog import ModelSpec
from bot.providers.openai.bodies import InputFile
from bot.providers.openai.client import Moderation, OpenAICompatClient
from bot.providers.openai.models import (
    GenerationBody,
    ImageOptions,
)
from bot.providers.profiles import ProviderProfile

log = logging.getLogger(__name__)


LOCAL_SCHEME = "local://"
TASK_TTL = 3600.0  # a finished local task nobody downloaded is dropped after this long


@dataclass
class _LocalTask:
    """A synchronous call running in this process."""

    id: str
    reference: str | None
    created: float
    state: TaskState = TaskState.RUNNING
    progress: int = 0
    preview: bytes | None = field(default=None, repr=False)
    preview_index: int | None = None
    results: dict[int, bytes] = field(default_factory=dict, repr=False)
    count: int = 0
    error: BaseException | None = None
    shortfall_reason: Text | None = None  # fewer images than asked: why the others failed
    finished_at: float | None = None
    runner: asyncio.Task[None] | None = None


@dataclass
class _Upload:
    file: InputFile
    created: float


class OpenAICompatProvider:
    """An OpenAI-compatible API behind the engine's task-shaped ``ImageProvider``."""

    traits = IN_PROCESS_CALLS

    def __init__(
        self,
        profile: ProviderProfile,
        api_key: SecretStr,
        spec: ModelSpec,
        *,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float | None = None,
        moderation: Moderation | None = None,
        partial_images: int | None = None,
        label: str | None = None,
        max_retries: int = 1,
        loop_concurrency: int = 4,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if profile.family != "openai":
            raise ValueError(f"profile {profile.name} is not OpenAI-compatible")
        self.profile = profile
        self.name = profile.name
        self.label = label or profile.label
        self.spec = spec
        self.client = OpenAICompatClient(
            profile,
            api_key,
            base_url=base_url,
            session=session,
            request_timeout=request_timeout,
            max_retries=max_retries,
            sleep=sleep,
        )
        self.moderation = moderation
        self.partial_images = profile.partial_images if partial_images is None else partial_images
        self.loop_concurrency = max(1, loop_concurrency)  # calls of one job at once
        self._tasks: dict[str, _LocalTask] = {}
        self._by_reference: dict[str, str] = {}
        self._uploads: dict[str, _Upload] = {}

    def __repr__(self) -> str:
        return f"OpenAICompatProvider(name={self.name!r}, model={self.spec.model_id!r})"

    @property
    def base_url(self) -> str:
        """Where the API lives."""
        return self.client.http.base_url

    async def close(self) -> None:
        """Stop running calls (their images are lost, as after a restart) and close HTTP."""
        runners = [t.runner for t in self._tasks.values() if t.runner and not t.runner.done()]
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        await self.client.close()

    # ------------------------------------------------------------------ ImageProvider

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """Keep the image in memory: these APIs take the bytes with the request itself."""
        self._sweep()
        key = uuid.uuid4().hex
        self._uploads[key] = _Upload(InputFile(filename, content_type, data), time.monotonic())
        return f"{LOCAL_SCHEME}{self.name}/uploads/{key}"

    async def submit(self, task: TaskSpec) -> TaskSnapshot:
        """Start the call as a local task and return at once (the engine polls it for free)."""
        self._sweep()
        if task.client_reference is not None and task.client_reference in self._by_reference:
            existing = self._tasks.get(self._by_reference[task.client_reference])
            # The same job again: its call, unless that one failed and the engine sends it anew.
            if existing is not None and existing.state is not TaskState.FAILED:
                return self._snapshot(existing)
        edit_spec = self.spec.for_edit()
        if task.mask_url is not None and not edit_spec.supports_mask:
            raise InputError(
                Text(id=edit_spec.mask_refusal)
                if edit_spec.mask_refusal
                else _("{service} does not take a mask.", service=self.label),
                field="mask",
            )
        images = [self._input(url) for url in task.reference_urls]
        mask = self._input(task.mask_url) if task.mask_url is not None else None
        local = _LocalTask(
            id=f"local_{self.name}_{uuid.uuid4().hex[:16]}",
            reference=task.client_reference,
            created=time.monotonic(),
            count=task.n,
        )
        self._tasks[local.id] = local
        if task.client_reference is not None:
            self._by_reference[task.client_reference] = local.id
        local.runner = asyncio.create_task(self._run(local, task, images, mask), name=local.id)
        log.info(
            "%s call %s started (%s, %dx%d, n=%d, %d input(s)%s)",
            self.label,
            local.id,
            "edit" if images else "generation",
            task.width,
            task.height,
            task.n,
            len(images),
            ", mask" if mask else "",
        )
        return self._snapshot(local)

    async def poll(self, task_id: str, *, retry: bool = True) -> TaskSnapshot:
        """The local task's state; a failed call raises its error (never an upstream query)."""
        local = self._tasks.get(task_id)
        if local is None:
            raise TaskNotFoundError(
                _(
                    "{service} answers over the open connection only, and this job's "
                    "connection was lost (Easel restarted).",
                    service=self.label,
                ),
                provider=self.name,
            )
        if local.state is TaskState.FAILED and local.error is not None:
            raise local.error
        return self._snapshot(local)

    async def find_task(self, client_reference: str) -> TaskSnapshot | None:
        """The call started with this reference in this process, or None (lost to a restart)."""
        task_id = self._by_reference.get(client_reference)
        local = self._tasks.get(task_id) if task_id else None
        return self._snapshot(local) if local is not None else None

    async def download(self, url: str) -> bytes:
        """A result from memory (once: it is dropped when read), or a remote URL."""
        if not url.startswith(LOCAL_SCHEME):
            return await self.client.download(url)
        _provider, _sep, rest = url.removeprefix(LOCAL_SCHEME).partition("/results/")
        task_id, _slash, index = rest.partition("/")
        local = self._tasks.get(task_id)
        data = local.results.pop(int(index), None) if local and index.isdigit() else None
        if data is None:
            raise ResultUnavailableError(
                _("The image was already delivered or is gone; run the request again."),
                provider=self.name,
            )
        return data

    async def check(self) -> str:
        """Reach the API with the key: list its models and say whether ours is there."""
        try:
            models = await self.client.models()
        except TaskNotFoundError:
            return (
                f"{self.label} reachable at {self.base_url} "
                f"(no model list; model {self.spec.model_id})"
            )
        listed = "listed" if self.spec.model_id in models else "NOT listed"
        return (
            f"{self.label} reachable at {self.base_url}, {len(models)} model(s), "
            f"{self.spec.model_id} {listed}"
        )

    # ------------------------------------------------------------------ running a call

    def request_options(self, task: TaskSpec, *, edit: bool, n: int, stream: bool) -> ImageOptions:
        """The fields of one call: only what this profile documents for this endpoint."""
        spec = self.spec.for_edit() if edit else self.spec
        profile = self.profile
        formats = profile.caps(spec.model_id).formats  # a model may differ (model_overrides)
        output_format = None
        compression = None
        if task.output_format is not None and task.output_format.value in formats:
            output_format = task.output_format.value
            if task.output_format is OutputFormat.JPEG and task.compression is not None:
                compression = task.compression
        moderation = None
        if self.moderation is not None and profile.moderation:
            moderation = self.moderation if (not edit or profile.moderation_on_edits) else None
        options: dict[str, Any] = {
            "model": spec.model_id,
            "prompt": task.prompt,
            "n": n if n > 1 else None,
            "size": f"{task.width}x{task.height}",
            "quality": task.quality.value if task.quality and spec.supports_quality else None,
            "output_format": output_format,
            "output_compression": compression,
            "moderation": moderation,
            "stream": True if stream else None,
            "partial_images": self.partial_images if stream else None,
        }
        model: type[ImageOptions] = ImageOptions if edit else GenerationBody
        return model.model_validate(options)

    def _input(self, url: str) -> InputFile:
        if url.startswith(f"{LOCAL_SCHEME}{self.name}/uploads/"):
            upload = self._uploads.pop(url.rsplit("/", 1)[-1], None)
            if upload is None:
                raise ResultUnavailableError(
                    _(
                        "An input image was lost before it could be sent (Easel restarted?); "
                        "run the request again."
                    ),
                    provider=self.name,
                )
            return upload.file
        if url.startswith(("http://", "https://")):
            return InputFile("image", "image/png", b"", url=url)
        raise ValueError(f"{url!r} is not an input of {self.name}")

    async def _run(
        self,
        local: _LocalTask,
        task: TaskSpec,
        images: list[InputFile],
        mask: InputFile | None,
    ) -> None:
        try:
            results = await self._all_images(local, task, images, mask)
        except asyncio.CancelledError:
            local.error = TaskNotFoundError(
                _("The call to {service} was stopped before it answered.", service=self.label),
                provider=self.name,
            )
            local.state = TaskState.FAILED
            raise
        except Exception as exc:  # kept for the engine, which raises it from poll
            local.error = exc
            local.state = TaskState.FAILED
            if isinstance(exc, EaselError):
                log.info("%s call %s failed: %s", self.label, local.id, exc)
            else:
                log.exception("%s call %s crashed", self.label, local.id)
        else:
            local.results = dict(enumerate(results))
            local.count = len(results)
            local.progress = 100
            local.state = TaskState.COMPLETED
            log.info("%s call %s made %d image(s)", self.label, local.id, len(results))
        finally:
            local.finished_at = time.monotonic()

    async def _all_images(
        self,
        local: _LocalTask,
        task: TaskSpec,
        images: list[InputFile],
        mask: InputFile | None,
    ) -> list[bytes]:
        """One call, or one per image where ``n`` is not native (or the call streams).

        Looped calls run a few at a time. If some fail and others succeed, the images that came
        are delivered and ``local.shortfall_reason`` says why the rest failed (the engine tells
        the member); if all fail, the most telling error is raised (a safety refusal first).
        """
        edit = bool(images)
        caps = self.profile.caps(self.spec.for_edit().model_id if edit else self.spec.model_id)
        stream = caps.streaming and self.partial_images > 0
        per_call = task.n if caps.native_n and not stream else 1
        calls = -(-task.n // per_call)
        gate = asyncio.Semaphore(self.loop_concurrency)  # per job: jobs are capped by the queue

        async def previews(index: int, data: bytes) -> None:
            if local.state is not TaskState.RUNNING:
                return
            local.preview, local.preview_index = data, index
            local.progress = min(95, round(100 * (index + 1) / (self.partial_images + 1)))

        async def one(call: int) -> list[bytes]:
            async with gate:
                options = self.request_options(task, edit=edit, n=per_call, stream=stream)
                on_partial = previews if call == 0 else None
                if edit:
                    return await self.client.edit(options, images, mask, on_partial=on_partial)
                assert isinstance(options, GenerationBody)
                return await self.client.generate(options, on_partial=on_partial)

        if calls == 1:
            made, errors = await one(0), []
        else:
            outcomes = await asyncio.gather(*(one(i) for i in range(calls)), return_exceptions=True)
            made = [image for o in outcomes if not isinstance(o, BaseException) for image in o]
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            for error in errors:
                if not isinstance(error, Exception):
                    raise error  # a cancellation is not a failed call
            if not made:
                raise _most_telling(errors)
        if errors:
            telling = _most_telling(errors)
            local.shortfall_reason = (
                telling.message_text if isinstance(telling, EaselError) else None
            )
            log.warning(
                "%s call %s: %d of %d calls failed (%s); delivering %d image(s)",
                self.label,
                local.id,
                len(errors),
                calls,
                telling,
                len(made),
            )
        elif len(made) < task.n:
            local.shortfall_reason = _(
                "{service} sent {sent} of the {asked} asked for",
                service=self.label,
                sent=len(made),
                asked=task.n,
            )
        return made[: task.n]

    def _snapshot(self, local: _LocalTask) -> TaskSnapshot:
        urls: tuple[str, ...] = ()
        if local.state is TaskState.COMPLETED:
            urls = tuple(
                f"{LOCAL_SCHEME}{self.name}/results/{local.id}/{i}" for i in sorted(local.results)
            )
        error = local.error
        return TaskSnapshot(
            task_id=local.id,
            state=local.state,
            status={
                TaskState.RUNNING: "in_progress",
                TaskState.COMPLETED: "completed",
                TaskState.FAILED: "failed",
            }[local.state],
            progress=local.progress,
            result_urls=urls,
            error_code=getattr(error, "code", None) if error else None,
            error_message=getattr(error, "user_message", None) if error else None,
            safety_refusal=isinstance(error, SafetyRefusal),
            shortfall_reason=local.shortfall_reason,
            preview=local.preview if local.state is TaskState.RUNNING else None,
            preview_index=local.preview_index if local.state is TaskState.RUNNING else None,
        )

    def _sweep(self) -> None:
        """Drop finished tasks and unused uploads older than ``TASK_TTL`` (memory stays flat)."""
        cutoff = time.monotonic() - TASK_TTL
        for task_id, local in list(self._tasks.items()):
            if local.finished_at is not None and local.finished_at < cutoff:
                del self._tasks[task_id]
                if local.reference is not None:
                    self._by_reference.pop(local.reference, None)
        for key, upload in list(self._uploads.items()):
            if upload.created < cutoff:
                del self._uploads[key]


def _most_telling(errors: Sequence[BaseException]) -> BaseException:
    for error in errors:
        if isinstance(error, SafetyRefusal):
            return error
    for error in errors:
        if isinstance(error, EaselError):
            return error
    return errors[0]


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's protocol
    _PROTOCOL_CHECK: type[ImageProvider] = OpenAICompatProvider
