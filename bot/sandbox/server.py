"""A local emulator of the ToAPIs image-task API (upstream-apis.md §1), with fault knobs.

It serves the endpoints Easel uses, in their documented shapes, on 127.0.0.1 only: uploads,
generation tasks that move queued → in_progress → completed over ``task_duration`` seconds and
finish with exact-size placeholder images, balance and model listing. It is the no-key default of
the bot and the upstream of the tests and benchmarks, so it also logs every request and can be
told to misbehave (429s, 5xx, HTML gateway pages, hangs, failed tasks, dead result links) either
from Python (``sandbox.faults``) or over HTTP (``POST /_sandbox/faults``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.options import Ratio, Resolution
from bot.providers._bodies import ErrorBody, ModelEntry, ModelList
from bot.providers.catalog import SizeTableName
from bot.providers.families import toapis_model_spec
from bot.providers.toapis.models import (
    BalanceResponse,
    GenerationRequest,
    ResultImageRef,
    TaskObject,
    TaskResult,
    UploadedFile,
    UploadResponse,
)
from bot.sandbox._base import Emulator, Handler, RuleFields, broken_answer
from bot.sandbox._images import MaskWords, image_size, mask_problem, sniff
from bot.sandbox.placeholder import render_edit_placeholder, render_placeholder

log = logging.getLogger(__name__)

IMAGE_MODELS = ("gpt-image-2", "gpt-image-2-vip", "gpt-image-2-official", "gpt-image-1.5-official")
TEXT_MODELS = ("gpt-4o-mini", "claude-sonnet-4")
MAX_PROMPT_CHARS = 32_000
MAX_N = 10
MAX_REFERENCES = 16
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_EDIT_IMAGE_BYTES = 50 * 1000 * 1000  # "max 50MB each" (seeds 000/002)
EDIT_FETCH_TIMEOUT = 10.0
RESULT_LIFETIME = 24 * 3600  # result URLs "expire" after 24 h (only reported, never enforced)
_QUEUED_SHARE = 0.1  # the first tenth of a task's duration reports "queued"

Endpoint = Literal[
    "upload", "submit", "poll", "download", "file", "balance", "models", "control", "other"
]
FaultTarget = Literal["upload", "submit", "poll", "download", "balance", "models", "any"]
FaultKind = Literal["429", "500", "502", "503", "html", "timeout", "404", "reset"]

_GATEWAY_PAGE = """<html>
<head><title>504 Gateway Time-out</title></head>
<body>
<center><h1>504 Gateway Time-out</h1></center>
<hr><center>tengine</center>
</body>
</html>
"""


class FaultRule(RuleFields):
    """One scripted failure for the next ``times`` requests to ``endpoint``."""

    endpoint: FaultTarget = "any"
    kind: FaultKind
    after: bool = Field(
        default=False,
        description="run the real handler first, then fail: the request took effect but its "
        "answer was lost (what makes a failed submit ambiguous)",
    )

    def matches(self, endpoint: Endpoint) -> bool:
        """True when this rule applies to a request of this kind."""
        if self.endpoint == "any":
            return endpoint not in ("control", "other")
        return self.endpoint == endpoint


class Faults(BaseModel):
    """Every knob that makes the sandbox slower or less reliable than a happy upstream."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    latency: float = Field(default=0.0, ge=0, description="seconds added to every API answer")
    task_duration: float = Field(default=2.0, ge=0, description="seconds from submit to done")
    rules: list[FaultRule] = Field(default_factory=list, description="one-shot faults, in order")
    fail_tasks: int = Field(default=0, ge=0, description="next N tasks end generation_failed")
    fail_status: int = Field(
        default=500, ge=100, le=599, description="the upstream status generation_failed wraps"
    )
    safety_fail_tasks: int = Field(
        default=0, ge=0, description="next N end content_policy_violation (a safety refusal)"
    )
    dead_result_urls: bool = Field(default=False, description="result files answer 404")
    short_results: int = Field(
        default=0, ge=0, description="completed tasks send this many images fewer than n (≥ 1)"
    )
    download_delay: float = Field(default=0.0, ge=0, description="seconds before a file answer")
    balance: float = Field(default=100.0, description="-1 is unlimited; 0 makes submit 402")


class FaultsUpdate(BaseModel):
    """Body of ``POST /_sandbox/faults``: set the given knobs, append ``rules``, or reset."""

    model_config = ConfigDict(extra="forbid")

    reset: bool = False
    latency: float | None = Field(default=None, ge=0)
    task_duration: float | None = Field(default=None, ge=0)
    rules: list[FaultRule] = Field(default_factory=list)
    fail_tasks: int | None = Field(default=None, ge=0)
    fail_status: int | None = Field(default=None, ge=100, le=599)
    safety_fail_tasks: int | None = Field(default=None, ge=0)
    dead_result_urls: bool | None = None
    short_results: int | None = Field(default=None, ge=0)
    download_delay: float | None = Field(default=None, ge=0)
    balance: float | None = None


class SandboxStats(BaseModel):
    """Body of ``GET /_sandbox/stats``, for a benchmark driving a sandbox in another process."""

    uptime: float
    tasks: int
    counts: dict[str, int]
    per_second: dict[str, dict[str, int]] = Field(
        description="second since start → endpoint → requests in that second"
    )


@dataclass
class LoggedRequest:
    """One request as the sandbox saw it (``body`` is the parsed JSON, or an upload summary)."""

    method: str
    path: str
    endpoint: Endpoint
    at: float
    body: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class _Task:
    """A generation task and how it will end."""

    id: str
    request: GenerationRequest
    width: int
    height: int
    started: float  # monotonic
    created_at: int  # unix seconds
    duration: float
    outcome: Literal["ok", "fail", "safety"]
    fail_status: int = 500  # what a "fail" outcome's message says the upstream answered
    inputs: list[bytes] = field(default_factory=list)  # edits: the images, first one first
    mask: bytes | None = None
    render: asyncio.Task[list[str]] | None = None
    completed_at: int | None = None


class _FileStore:
    """Served files, oldest dropped past a byte budget so long benchmarks cannot eat the RAM.

    A dropped file answers 404, which is what an expired ToAPIs link does anyway.
    """

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._size = 0
        self._files: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store a file, then drop the oldest ones until the budget holds."""
        self._files[name] = (data, content_type)
        self._size += len(data)
        while self._size > self._budget and len(self._files) > 1:
            _, (dropped, _) = self._files.popitem(last=False)
            self._size -= len(dropped)

    def get(self, name: str) -> tuple[bytes, str] | None:
        """(bytes, content type), or None when never stored or already dropped."""
        return self._files.get(name)


_LOG_ENTRY = web.RequestKey("log_entry", LoggedRequest)
_API_KEY = web.RequestKey("api_key", str)


class _Invalid(Exception):
    """A request the real API would answer with 400 invalid_request."""


def _error(status: int, code: str | int, message: str, kind: str | None = None) -> web.Response:
    """An error in the documented ``{"error": {code, message, type}}`` shape.

    The docs' own examples mix numeric codes (401, 404) and string codes (rate limits); the
    sandbox copies each example as written so clients are tested against both.
    """
    error: dict[str, Any] = {"code": code, "message": message}
    if kind is not None:
        error["type"] = kind
    return web.json_response({"error": error}, status=status)


#: Upload types the real endpoint accepts: (mime type, file extension).
_UPLOAD_TYPES = {
    "png": ("image/png", "png"),
    "jpeg": ("image/jpeg", "jpg"),
    "gif": ("image/gif", "gif"),
    "webp": ("image/webp", "webp"),
}
_MASK_WORDS = MaskWords(
    not_png="mask_url must be a PNG image with an alpha channel",
    unreadable="mask_url or image_urls[0] is not a readable image ({error})",
    no_alpha="mask_url must be a PNG with an alpha channel (transparent pixels are repainted)",
    wrong_size="mask_url must match the size of the first image ({expected}), got {got}",
)


class Sandbox(Emulator[Endpoint, LoggedRequest, FaultRule]):
    """The ToAPIs emulator: ``async with Sandbox() as sb:``, then use ``sb.base_url``."""

    name = "ToAPIs sandbox"
    client_max_size = MAX_UPLOAD_BYTES * 4
    faults: Faults

    def __init__(
        self,
        *,
        api_key: str | None = None,
        task_duration: float = 2.0,
        size_table: SizeTableName = "seed",
        latency: float = 0.0,
        request_log_size: int = 100_000,
        file_budget: int = 1024 * 1024 * 1024,
    ) -> None:
        super().__init__(
            Faults(task_duration=task_duration, latency=latency),
            FaultsUpdate.model_validate,
            api_key=api_key,
            request_log_size=request_log_size,
        )
        self.size_table: SizeTableName = size_table
        self._per_second: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self._tasks: dict[str, _Task] = {}
        self._by_reference: dict[tuple[str, str], str] = {}
        self._files = _FileStore(file_budget)
        self._uploads = _FileStore(file_budget)
        self._renders: set[asyncio.Task[list[str]]] = set()

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/uploads/images", self._upload),
            web.post("/v1/images/generations", self._submit),
            web.get("/v1/images/generations/{task_id}", self._poll),
            web.get("/v1/balance", self._balance),
            web.get("/v1/user/balance", self._balance),
            web.get("/v1/models", self._models),
            web.get("/files/generated/{name}", self._generated_file),
            web.get("/files/uploads/{name}", self._uploaded_file),
            web.get("/_sandbox/stats", self._stats),
        ]

    async def stop(self) -> None:
        """Stop listening and drop in-flight renders."""
        for render in list(self._renders):
            render.cancel()
        await super().stop()

    # ------------------------------------------------------------------ test helpers

    def add_fault(self, kind: FaultKind, endpoint: FaultTarget = "any", **options: Any) -> None:
        """Queue a one-shot fault, e.g. ``add_fault("429", "submit", retry_after=2)``."""
        self.faults.rules.append(FaultRule(kind=kind, endpoint=endpoint, **options))

    def stats(self) -> SandboxStats:
        """Counters for the stats endpoint and for in-process benchmarks."""
        return SandboxStats(
            uptime=time.monotonic() - self._started,
            tasks=len(self._tasks),
            counts=dict(self._counts),
            per_second={str(sec): dict(c) for sec, c in sorted(self._per_second.items())},
        )

    # ------------------------------------------------------------------ around every handler

    def _classify(self, method: str, path: str) -> Endpoint:
        """Which API operation a request is, for logs, counters and fault targeting."""
        if path.startswith("/_sandbox/"):
            return "control"
        if path.startswith("/files/generated/"):
            return "download"
        if path.startswith("/files/uploads/"):
            return "file"
        if path == "/v1/uploads/images" and method == "POST":
            return "upload"
        if path == "/v1/images/generations" and method == "POST":
            return "submit"
        if path.startswith("/v1/images/generations/") and method == "GET":
            return "poll"
        if path in ("/v1/balance", "/v1/user/balance"):
            return "balance"
        if path == "/v1/models":
            return "models"
        return "other"

    def _new_entry(self, request: web.Request, endpoint: Endpoint, now: float) -> LoggedRequest:
        entry = LoggedRequest(
            request.method,
            request.path,
            endpoint,
            now,
            headers={
                name: "<redacted>" if name.lower() == "authorization" else value
                for name, value in request.headers.items()
            },
        )
        self._per_second[int(now - self._started)][endpoint] += 1
        request[_LOG_ENTRY] = entry
        return entry

    async def _guarded(
        self, request: web.Request, endpoint: Endpoint, handler: Handler
    ) -> web.StreamResponse:
        """Log the JSON body, add latency, apply faults and check auth around a handler."""
        if request.content_type == "application/json" and request.can_read_body:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                request[_LOG_ENTRY].body = json.loads(await request.read())
        if endpoint == "control":
            return await handler(request)
        if endpoint not in ("download", "file") and self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        rule = self._take_fault(endpoint)
        if rule is not None and rule.kind == "reset":
            return await broken_answer(request)
        if rule is not None and not rule.after:
            return await self._fault_response(rule)
        if endpoint in ("download", "file"):
            response = await handler(request)  # public links, like files.toapis.com
        else:
            response = self._check_auth(request) or await handler(request)
        if rule is not None:
            log.info("Sandbox fault %s after %s took effect", rule.kind, endpoint)
            return await self._fault_response(rule)
        return response

    async def _fault_response(self, rule: FaultRule) -> web.Response:
        if rule.kind == "429":
            response = _error(429, "rate_limit_exceeded", "Async task request rate exceeded")
            response.headers["Retry-After"] = f"{rule.retry_after:g}"
            response.headers["X-RateLimit-Category"] = "async_submit"
            return response
        if rule.kind == "500":
            return _error(500, "internal_error", "Internal server error", "internal_error")
        if rule.kind == "502":
            return _error(502, "bad_gateway", "upstream returned an invalid response")
        if rule.kind == "503":
            return _error(503, "rate_limit_unavailable", "Rate limiter temporarily unavailable")
        if rule.kind == "404":  # a result file the CDN does not have (yet, or any more)
            return web.Response(
                status=404, text="<Error><Code>NoSuchKey</Code></Error>", content_type="text/xml"
            )
        if rule.kind == "timeout":
            await asyncio.sleep(rule.hang)
        return web.Response(status=504, text=_GATEWAY_PAGE, content_type="text/html")

    def _check_auth(self, request: web.Request) -> web.Response | None:
        """None when the Bearer key is acceptable, else the documented 401."""
        key = self._accepted_key(request)
        if key is None:
            return _error(
                401, 401, "Authentication failed, please check your API key", "authentication_error"
            )
        request[_API_KEY] = key
        return None

    # ------------------------------------------------------------------ uploads

    async def _upload(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            return self._upload_error("Request must be multipart/form-data with a file field")
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return self._upload_error("No file uploaded")
        data = upload.file.read()
        request[_LOG_ENTRY].body = {
            "purpose": form.get("purpose"),
            "filename": upload.filename,
            "content_type": upload.content_type,
            "size": len(data),
        }
        if len(data) > MAX_UPLOAD_BYTES:
            return self._upload_error("Image too large. Maximum size is 10MB")
        kind = _UPLOAD_TYPES.get(sniff(data) or "")
        if kind is None:
            return self._upload_error("Unsupported image type. Allowed: JPEG, PNG, WebP, GIF")
        mime, ext = kind
        upload_id = f"upload_{secrets.token_hex(4)}"
        name = f"{upload_id}.{ext}"
        self._uploads.put(name, data, mime)
        body = UploadResponse(
            success=True,
            message="",
            data=UploadedFile(
                id=upload_id,
                url=f"{self.base_url}/files/uploads/{name}",
                mime_type=mime,
                size=len(data),
            ),
        )
        return web.json_response(body.model_dump())

    @staticmethod
    def _upload_error(message: str) -> web.Response:
        return web.json_response({"success": False, "message": message}, status=400)

    async def _uploaded_file(self, request: web.Request) -> web.Response:
        stored = self._uploads.get(request.match_info["name"])
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored[0], content_type=stored[1])

    # ------------------------------------------------------------------ generation tasks

    async def _submit(self, request: web.Request) -> web.Response:
        balance = self.faults.balance
        if balance != -1 and balance <= 0:
            return _error(
                402,
                "insufficient_quota",
                "Insufficient balance, please top up",
                "insufficient_quota",
            )
        try:
            payload = await request.json()
        except ValueError:
            return _error(400, "invalid_request", "Request body must be JSON", "invalid_request")
        try:
            if not isinstance(payload, dict):
                raise _Invalid("Request body must be a JSON object")
            try:
                body = GenerationRequest.model_validate(payload)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise _Invalid(f"{where}: {first['msg']}") from exc
            key = request[_API_KEY]
            if body.client_business_id:
                existing = self._by_reference.get((key, body.client_business_id))
                if existing is not None:
                    log.info("Sandbox submit reused task %s", existing)
                    return web.json_response(await self._view(self._tasks[existing]))
            ratio, tier = self._validate(body)
            inputs, mask = await self._edit_inputs(body)
            width, height = await self._output_size(ratio, tier, body.model, inputs)
        except _Invalid as exc:
            return _error(400, "invalid_request", str(exc), "invalid_request")

        outcome: Literal["ok", "fail", "safety"] = "ok"
        if self.faults.safety_fail_tasks:
            self.faults.safety_fail_tasks -= 1
            outcome = "safety"
        elif self.faults.fail_tasks:
            self.faults.fail_tasks -= 1
            outcome = "fail"
        task = _Task(
            id=f"tsk_img_{secrets.token_hex(12)}",
            request=body,
            width=width,
            height=height,
            started=time.monotonic(),
            created_at=int(time.time()),
            duration=self.faults.task_duration,
            outcome=outcome,
            fail_status=self.faults.fail_status,
            inputs=inputs,
            mask=mask,
        )
        self._tasks[task.id] = task
        if body.client_business_id:
            self._by_reference[(key, body.client_business_id)] = task.id
        log.info("Sandbox task %s: %s %dx%d n=%d", task.id, body.model, width, height, body.n or 1)
        return web.json_response(await self._view(task, fresh=True))

    def _validate(self, body: GenerationRequest) -> tuple[Ratio, Resolution]:
        """Check a request like the real API would; return its ratio and tier."""
        if body.model not in IMAGE_MODELS:
            raise _Invalid(f"model {body.model!r} is not available; use one of {IMAGE_MODELS}")
        if not body.prompt.strip():
            raise _Invalid("prompt is required")
        if len(body.prompt) > MAX_PROMPT_CHARS:
            raise _Invalid(f"prompt must be at most {MAX_PROMPT_CHARS} characters")
        n = 1 if body.n is None else body.n
        if not 1 <= n <= MAX_N:
            raise _Invalid(f"n must be between 1 and {MAX_N}")
        references = body.references()
        if len(references) > MAX_REFERENCES:
            raise _Invalid(f"at most {MAX_REFERENCES} reference images are allowed")
        if any(not ref.startswith(("http://", "https://")) for ref in references):
            raise _Invalid("reference images must be public http(s) URLs (base64 is not supported)")
        # Stricter than the docs on purpose: reject options the model's page does not document,
        # so a client that sends them is caught in tests rather than silently ignored upstream.
        spec = toapis_model_spec(body.model, self.size_table, edit_model=None)
        if spec.reference_field == "image_urls" and body.reference_images:
            raise _Invalid(f"{body.model} takes its images as image_urls, not reference_images")
        if body.mask_url is not None:
            if not spec.supports_mask:
                raise _Invalid(f"mask_url is not supported by {body.model}")
            if not body.image_urls:
                raise _Invalid("mask_url requires image_urls")
            if not body.mask_url.startswith(("http://", "https://")):
                raise _Invalid("mask_url must be a public http(s) URL")
        if body.quality is not None:
            if not spec.supports_quality:
                raise _Invalid(f"quality is not supported by {body.model}")
            if body.quality not in ("low", "medium", "high"):
                raise _Invalid("quality must be one of low, medium, high")
        if body.output_format is not None or body.output_compression is not None:
            if not spec.supports_output_format:
                raise _Invalid(f"output_format is not supported by {body.model}")
            if body.output_format not in (None, "png", "jpeg"):
                raise _Invalid("output_format must be png or jpeg")
            if body.output_compression is not None and not 0 <= body.output_compression <= 100:
                raise _Invalid("output_compression must be between 0 and 100")
        try:
            ratio = Ratio(body.size or "1:1")
        except ValueError:
            ratios = ", ".join(r.value for r in Ratio)
            raise _Invalid(f"size must be one of {ratios}") from None
        if ratio is Ratio.AUTO and not spec.supports_auto_ratio:
            raise _Invalid(f"size auto is not supported by {body.model}")
        try:
            tier = Resolution((body.resolution or "1K").upper())
        except ValueError:
            raise _Invalid("resolution must be one of 1K, 2K, 4K") from None
        table = spec.sizes.get(tier, {})  # the model's own table (the official one differs)
        if ratio is not Ratio.AUTO and ratio not in table:
            offered = ", ".join(table)
            raise _Invalid(f"size {ratio.value} is not supported at {tier.value}; use {offered}")
        return ratio, tier

    async def _output_size(
        self, ratio: Ratio, tier: Resolution, model: str, inputs: list[bytes]
    ) -> tuple[int, int]:
        """Pixels of the result; ``auto`` takes the offered size nearest the first image's shape."""
        spec = toapis_model_spec(model, self.size_table, edit_model=None)
        if ratio is not Ratio.AUTO:
            size = spec.size_for(ratio, tier)
            assert size is not None  # checked by _validate
            return size
        source = await asyncio.to_thread(image_size, inputs[0]) if inputs else None
        return spec.auto_size(tier, source)

    async def _edit_inputs(self, body: GenerationRequest) -> tuple[list[bytes], bytes | None]:
        """An edit's images and mask, fetched and checked as the edit page says (seeds 000/002).

        Only requests in edit mode (``image_urls`` to a model that edits) are fetched: each image
        must be a PNG or JPEG of at most 50 MB, and the mask a PNG with an alpha channel the size
        of the first image. Anything else is a 400 naming the field.
        """
        spec = toapis_model_spec(body.model, self.size_table, edit_model=None)
        if not (spec.supports_mask and body.image_urls):
            return [], None
        images = []
        for position, url in enumerate(body.image_urls):
            data = await self._fetch_input(url, f"image_urls[{position}]")
            if sniff(data) not in ("png", "jpeg"):
                raise _Invalid(f"image_urls[{position}] must be a PNG or JPG image")
            images.append(data)
        mask = None
        if body.mask_url is not None:
            mask = await self._fetch_input(body.mask_url, "mask_url")
            problem = await asyncio.to_thread(mask_problem, mask, images[0], _MASK_WORDS)
            if problem is not None:
                raise _Invalid(problem)
        return images, mask

    async def _fetch_input(self, url: str, field_name: str) -> bytes:
        """The bytes behind an input URL: this sandbox's own files directly, others over HTTP."""
        for prefix, store in (
            (f"{self.base_url}/files/uploads/", self._uploads),
            (f"{self.base_url}/files/generated/", self._files),
        ):
            if url.startswith(prefix):
                stored = store.get(url.removeprefix(prefix))
                if stored is None:
                    raise _Invalid(f"{field_name} could not be downloaded (HTTP 404)")
                return stored[0]
        try:
            timeout = aiohttp.ClientTimeout(total=EDIT_FETCH_TIMEOUT)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                if response.status != 200:
                    raise _Invalid(f"{field_name} could not be downloaded (HTTP {response.status})")
                data = await response.content.read(MAX_EDIT_IMAGE_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Invalid(f"{field_name} could not be downloaded ({type(exc).__name__})") from exc
        if len(data) > MAX_EDIT_IMAGE_BYTES:
            raise _Invalid(f"{field_name} is larger than 50MB")
        return data

    async def _poll(self, request: web.Request) -> web.Response:
        wanted = request.match_info["task_id"]
        task = self._tasks.get(wanted)
        if task is None:
            found = self._by_reference.get((request[_API_KEY], wanted))
            task = self._tasks.get(found) if found else None
        if task is None:
            return _error(404, 404, "Task not found", "not_found_error")
        return web.json_response(await self._view(task))

    async def _view(self, task: _Task, *, fresh: bool = False) -> dict[str, Any]:
        """The task object as the status endpoint shows it right now."""
        elapsed = time.monotonic() - task.started
        obj = TaskObject(
            id=task.id,
            object="generation.task",
            model=task.request.model,
            status="queued",
            progress=0,
            created_at=task.created_at,
            client_business_id=task.request.client_business_id,
            metadata=task.request.metadata or {},
        )
        if fresh or elapsed < task.duration:
            share = 0.0 if fresh else elapsed / task.duration
            if share >= _QUEUED_SHARE:
                obj.status = "in_progress"
                obj.progress = max(1, min(99, int(share * 100)))
        elif task.outcome != "ok":
            obj.status = "failed"
            obj.error = (
                ErrorBody(
                    code="content_policy_violation",
                    message="Your request was rejected as a result of our safety system.",
                )
                if task.outcome == "safety"
                else ErrorBody(
                    code="generation_failed",
                    message="call upstream API failed: upstream returned status "
                    f"{task.fail_status}",
                )
            )
        else:
            urls = await self._rendered(task)
            task.completed_at = task.completed_at or int(time.time())
            obj.status = "completed"
            obj.progress = 100
            obj.completed_at = task.completed_at
            obj.expires_at = task.completed_at + RESULT_LIFETIME
            obj.result = TaskResult(type="image", data=[ResultImageRef(url=url) for url in urls])
            obj.url = urls[0] if urls else None
        return obj.model_dump(by_alias=True, exclude_none=True)

    async def _rendered(self, task: _Task) -> list[str]:
        """Result URLs, drawing the images once (off the loop) on the first poll that needs them."""
        if task.render is None:
            task.render = asyncio.create_task(self._render(task))
            self._renders.add(task.render)
            task.render.add_done_callback(self._renders.discard)
        return await asyncio.shield(task.render)

    async def _render(self, task: _Task) -> list[str]:
        request = task.request
        jpeg = request.output_format == "jpeg"
        count = max(1, (request.n or 1) - self.faults.short_results)
        options: dict[str, Any] = {
            "count": count,
            "output_format": "jpeg" if jpeg else "png",
            "jpeg_quality": request.output_compression or 90,
        }
        if task.inputs:  # an edit: the inputs drawn in, the mask's region visibly repainted
            draw = partial(
                render_edit_placeholder,
                task.width,
                task.height,
                request.prompt,
                task.inputs,
                task.mask,
                **options,
            )
        else:
            draw = partial(render_placeholder, task.width, task.height, request.prompt, **options)
        images = await asyncio.gather(*(asyncio.to_thread(draw, index=i + 1) for i in range(count)))
        urls = []
        for i, data in enumerate(images):
            name = f"{task.id}_{i + 1}.{'jpg' if jpeg else 'png'}"
            self._files.put(name, data, "image/jpeg" if jpeg else "image/png")
            urls.append(f"{self.base_url}/files/generated/{name}")
        return urls

    async def _generated_file(self, request: web.Request) -> web.Response:
        if self.faults.download_delay:
            await asyncio.sleep(self.faults.download_delay)
        stored = self._files.get(request.match_info["name"])
        if stored is None or self.faults.dead_result_urls:
            return web.Response(
                status=404, text="<Error><Code>NoSuchKey</Code></Error>", content_type="text/xml"
            )
        return web.Response(body=stored[0], content_type=stored[1])

    # ------------------------------------------------------------------ account

    async def _balance(self, request: web.Request) -> web.Response:
        balance = self.faults.balance
        body = BalanceResponse(
            success=True,
            remain_balance=balance,
            used_balance=round(0.02 * len(self._tasks), 2),
            remain_credits=-1 if balance == -1 else balance * 1000,
            used_credits=20 * len(self._tasks),
            credits_per_usd=1000,
            unlimited_quota=balance == -1,
        )
        return web.json_response(body.model_dump(exclude={"message"}))

    async def _models(self, request: web.Request) -> web.Response:
        wanted = request.query.get("type", "text")
        ids: list[tuple[str, str]] = []
        if wanted in ("image", "all"):
            ids += [(model, "image") for model in IMAGE_MODELS]
        if wanted in ("text", "all"):
            ids += [(model, "text") for model in TEXT_MODELS]
        body = ModelList(
            object="list",
            data=[ModelEntry(id=m, object="model", owned_by="toapis", type=t) for m, t in ids],
        )
        return web.json_response(body.model_dump())

    # ------------------------------------------------------------------ control

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats().model_dump())
