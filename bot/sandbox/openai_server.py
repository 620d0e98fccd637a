"""A local emulator of the OpenAI-compatible Images APIs (upstream-apis.md §2–§4), with faults.

One server speaks one *flavour*, each as its docs describe it:

* ``infinityblue`` (seed 003): synchronous; edits as JSON with ``image`` + ``images`` data URLs
  (or multipart); ``n`` ignored (always one image); masks accepted and ignored (the whole image
  changes); ``background: transparent`` is a 400; edit prompts at most 1,000 characters.
* ``starrise`` / ``anyfast`` (seed 004): synchronous; edits multipart only, ``image`` or
  ``image[]`` (not both) + ``mask`` (alpha PNG, the first image's size); free ``WxH`` checked
  against the rules; ``gpt-image-2`` and ``gpt-image-2-c`` (one image, URL results on edits).
* ``openai``: synchronous or SSE (``stream`` + ``partial_images`` 0–3) with
  ``image_generation.*`` / ``image_edit.*`` events; ``moderation_blocked`` errors.

Unknown parameters are refused, so a client that sends what an API does not document is caught by
the tests. It listens on 127.0.0.1 only, logs every request, and can be told to misbehave (429,
5xx, HTML gateway pages, hangs, 402, safety refusals, broken streams) from Python
(``server.faults``) or over HTTP (``POST /_sandbox/faults``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from aiohttp import web
from PIL import Image, ImageDraw, ImageFilter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.providers._bodies import ModelEntry, ModelList
from bot.providers.families import model_spec
from bot.providers.openai.models import (
    EditJSONBody,
    GenerationBody,
    ImageDatum,
    ImageOptions,
    ImagesResponse,
    ImagesUsage,
)
from bot.providers.profiles import ProviderProfile, load_profiles
from bot.providers.sizes import parse_size
from bot.sandbox._base import Emulator, Handler, RuleFields, broken_answer
from bot.sandbox._images import MaskWords, image_size, mask_problem, sniff
from bot.sandbox.placeholder import render_edit_placeholder, render_placeholder

log = logging.getLogger(__name__)

Flavour = Literal["infinityblue", "starrise", "anyfast", "openai"]
Endpoint = Literal["generate", "edit", "models", "download", "control", "other"]
FaultTarget = Literal["generate", "edit", "models", "download", "any"]
FaultKind = Literal[
    "429",
    "500",
    "502",
    "503",
    "html",
    "timeout",
    "402",
    "403",
    "413",
    "safety",
    "stream_error",
    "stream_cut",  # previews, then the stream ends without the final image
    "stream_stall",  # previews, then nothing for ``hang`` seconds, then the end
    "stream_empty",  # the stream ends before any event
    "404",
    "reset",  # the answer breaks off after its first bytes
]
_STREAM_FAULTS = ("stream_error", "stream_cut", "stream_stall", "stream_empty")
MAX_BODY_BYTES = 512 * 1024 * 1024
MAX_EDIT_IMAGES = 16
MAX_IMAGE_BYTES = 50 * 1000 * 1000

_GATEWAY_PAGE = """<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
"""
_SAFETY_MESSAGE = (
    "Your request was rejected by the safety system. If you believe this is an error, contact "
    "us at help.openai.com and include the request ID req_sandbox."
)


class FaultRule(RuleFields):
    """One scripted failure for the next ``times`` requests to ``endpoint``."""

    endpoint: FaultTarget = "any"
    kind: FaultKind

    def matches(self, endpoint: Endpoint) -> bool:
        """True when this rule applies to a request of this kind."""
        if self.endpoint == "any":
            return endpoint in ("generate", "edit", "models")
        return self.endpoint == endpoint


class Faults(BaseModel):
    """Knobs that make the emulator slower or less reliable than a happy upstream."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    latency: float = Field(default=0.0, ge=0, description="seconds before any API answer")
    call_duration: float = Field(default=0.3, ge=0, description="seconds an image call takes")
    rules: list[FaultRule] = Field(default_factory=list)
    safety_fail_calls: int = Field(default=0, ge=0, description="next N calls: moderation_blocked")
    balance: float = Field(default=100.0, description="0 or less: image calls answer 402")
    send_done: bool = Field(default=False, description="end SSE streams with data: [DONE]")
    dead_result_urls: bool = False
    short_results: int = Field(default=0, ge=0, description="answer with this many fewer images")


class FaultsUpdate(BaseModel):
    """Body of ``POST /_sandbox/faults``."""

    model_config = ConfigDict(extra="forbid")

    reset: bool = False
    latency: float | None = Field(default=None, ge=0)
    call_duration: float | None = Field(default=None, ge=0)
    rules: list[FaultRule] = Field(default_factory=list)
    safety_fail_calls: int | None = Field(default=None, ge=0)
    balance: float | None = None
    send_done: bool | None = None
    dead_result_urls: bool | None = None
    short_results: int | None = Field(default=None, ge=0)


@dataclass
class LoggedCall:
    """One request as the emulator saw it; ``fields`` has the form or JSON minus image bytes."""

    method: str
    path: str
    endpoint: Endpoint
    at: float
    transport: Literal["json", "multipart", "none"] = "none"
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[int]] = field(default_factory=dict)  # field name → byte sizes
    status: int | None = None


class _Refused(Exception):
    """A request the real API answers with an error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code


def _error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> web.Response:
    """An OpenAI-shaped error: ``{"error": {message, type, code, param}}``."""
    return web.json_response(
        {"error": {"message": message, "type": kind, "code": code, "param": param}}, status=status
    )


def _sniff(data: bytes) -> str | None:
    """``png``, ``jpeg`` or ``webp``: the formats the Images API takes (not GIF)."""
    kind = sniff(data)
    return kind if kind in ("png", "jpeg", "webp") else None


_MASK_WORDS = MaskWords(
    not_png="mask must be a PNG image with an alpha channel",
    unreadable="mask or image is not a readable image ({error})",
    no_alpha="mask must have an alpha channel",
    wrong_size="mask must have the same dimensions as the image ({expected}), got {got}",
)


def render_partial(final: bytes, index: int, total: int) -> bytes:
    """A preview frame of ``final``: blurred, darkened and stamped "PARTIAL i/n" (sync; thread).

    Visibly unlike the final image, so a test catches a client that delivers a partial.
    """
    with Image.open(io.BytesIO(final)) as opened:
        image = opened.convert("RGB")
    radius = max(2, min(image.size) // (8 * (index + 1)))
    image = image.filter(ImageFilter.GaussianBlur(radius)).point(lambda v: v * 3 // 4)
    draw = ImageDraw.Draw(image)
    draw.text((12, 12), f"PARTIAL {index + 1}/{total}", fill=(255, 255, 0))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _encode_as(data: bytes, output_format: str) -> bytes:
    """Re-encode a PNG placeholder as WebP (the placeholder draws PNG and JPEG only)."""
    if output_format != "webp":
        return data
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=80)
        return out.getvalue()


@dataclass
class _Call:
    """A parsed image call: its options and, for edits, the images and mask."""

    options: ImageOptions
    edit: bool
    images: list[bytes] = field(default_factory=list)
    mask: bytes | None = None


class OpenAISandbox(Emulator[Endpoint, LoggedCall, FaultRule]):
    """The emulator: ``async with OpenAISandbox("openai") as api:``, then use ``api.base_url``."""

    client_max_size = MAX_BODY_BYTES
    faults: Faults

    def __init__(
        self,
        flavour: Flavour = "openai",
        *,
        api_key: str | None = None,
        call_duration: float = 0.3,
        latency: float = 0.0,
        profile: ProviderProfile | None = None,
        request_log_size: int = 10_000,
    ) -> None:
        super().__init__(
            Faults(call_duration=call_duration, latency=latency),
            FaultsUpdate.model_validate,
            api_key=api_key,
            request_log_size=request_log_size,
        )
        self.flavour: Flavour = flavour
        self.profile = profile or load_profiles()[flavour]
        self.name = f"{self.profile.label} emulator"
        self._files: dict[str, tuple[bytes, str]] = {}
        self.calls = 0  # image calls that produced images

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/images/generations", self._generate),
            web.post("/v1/images/edits", self._edit),
            web.get("/v1/models", self._models),
            web.get("/files/{name}", self._file),
        ]

    def add_fault(self, kind: FaultKind, endpoint: FaultTarget = "any", **options: Any) -> None:
        """Queue a one-shot fault, e.g. ``add_fault("502", "generate", times=2)``."""
        self.faults.rules.append(FaultRule(kind=kind, endpoint=endpoint, **options))

    # ------------------------------------------------------------------ around every handler

    def _classify(self, method: str, path: str) -> Endpoint:
        if path.startswith("/_sandbox/"):
            return "control"
        if path.startswith("/files/"):
            return "download"
        if path == "/v1/images/generations" and method == "POST":
            return "generate"
        if path == "/v1/images/edits" and method == "POST":
            return "edit"
        if path == "/v1/models":
            return "models"
        return "other"

    def _new_entry(self, request: web.Request, endpoint: Endpoint, now: float) -> LoggedCall:
        entry = LoggedCall(request.method, request.path, endpoint, now)
        request[_ENTRY] = entry
        return entry

    async def _guarded(
        self, request: web.Request, endpoint: Endpoint, handler: Handler
    ) -> web.StreamResponse:
        if endpoint == "control":
            return await handler(request)
        if endpoint == "download":  # result links are public: no key, but faults apply
            rule = self._take_fault(endpoint)
            if rule is None:
                return await handler(request)
            if rule.kind == "reset":
                return await broken_answer(request)
            return await self._fault_response(rule)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        rule = self._take_fault(endpoint)
        if rule is not None and rule.kind == "reset":
            return await broken_answer(request)
        if rule is not None and rule.kind not in _STREAM_FAULTS:
            return await self._fault_response(rule)
        if rule is not None:
            request[_STREAM_FAULT] = rule.kind
            request[_STREAM_HANG] = rule.hang
        return await handler(request)

    async def _fault_response(self, rule: FaultRule) -> web.Response:
        if rule.kind == "429":
            response = _error(
                429, "Rate limit reached for requests", "rate_limit_error", "rate_limit_exceeded"
            )
            response.headers["Retry-After"] = f"{rule.retry_after:g}"
            return response
        if rule.kind == "402":
            return self._no_balance()
        if rule.kind == "safety":
            return self._safety_refusal()
        if rule.kind == "403":  # InfinityBlue: model not allowed; OpenAI: org not verified
            return _error(
                403,
                "Your organization must be verified to use the model `gpt-image-2`.",
                "permission_error",
            )
        if rule.kind == "404":
            return _error(404, "Not found", "not_found_error")
        if rule.kind == "413":
            return _error(413, "Request payload too large", "invalid_request_error")
        if rule.kind in ("500", "502", "503"):
            return _error(
                int(rule.kind), "The server had an error processing your request.", "server_error"
            )
        if rule.kind == "timeout":
            await asyncio.sleep(rule.hang)
        return web.Response(status=502, text=_GATEWAY_PAGE, content_type="text/html")

    def _no_balance(self) -> web.Response:
        if self.flavour == "openai":  # OpenAI says "no credit" with a 429
            return _error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )
        return _error(
            402, "Insufficient account balance", "insufficient_quota", "insufficient_quota"
        )

    @staticmethod
    def _safety_refusal() -> web.Response:
        return _error(400, _SAFETY_MESSAGE, "image_generation_user_error", "moderation_blocked")

    def _check_auth(self, request: web.Request) -> web.Response | None:
        if self._accepted_key(request) is not None:
            return None
        return _error(401, "Incorrect API key provided.", "authentication_error", "invalid_api_key")

    # ------------------------------------------------------------------ endpoints

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        entry = request[_ENTRY]
        try:
            if request.content_type != "application/json":
                raise _Refused(400, "Request body must be JSON")
            payload = await request.json()
            entry.transport = "json"
            entry.fields = _loggable(payload)
            options = self._options(payload, GenerationBody, edit=False)
            call = _Call(options, edit=False)
            self._check_call(call)
        except _Refused as exc:
            return _error(exc.status, exc.message, exc.kind, exc.code)
        except ValueError:
            return _error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error"
            )
        return await self._answer(request, call)

    async def _edit(self, request: web.Request) -> web.StreamResponse:
        try:
            call = await self._parse_edit(request)
            self._check_call(call)
            if call.mask is not None and self.profile.mask:
                problem = await asyncio.to_thread(
                    mask_problem, call.mask, call.images[0], _MASK_WORDS
                )
                if problem is not None:
                    raise _Refused(400, problem, code="invalid_mask", kind="invalid_request_error")
        except _Refused as exc:
            return _error(exc.status, exc.message, exc.kind, exc.code)
        return await self._answer(request, call)

    async def _parse_edit(self, request: web.Request) -> _Call:
        entry = request[_ENTRY]
        if request.content_type == "application/json":
            if self.profile.edit_transport != "json":
                raise _Refused(400, "Edits must be sent as multipart/form-data with image files")
            try:
                payload = await request.json()
            except ValueError:
                raise _Refused(400, "We could not parse the JSON body of your request.") from None
            entry.transport = "json"
            entry.fields = _loggable(payload)
            if isinstance(payload, dict):
                payload.pop("input_image_mask", None)  # InfinityBlue's alias; ignored like mask
            body = self._options(payload, EditJSONBody, edit=True)
            assert isinstance(body, EditJSONBody)
            sources = [body.image, *(body.images or [])]
            images = [await self._image_from_url(s, f"images[{i}]") for i, s in enumerate(sources)]
            entry.files = {"image": [len(d) for d in images]}
            mask = await self._image_from_url(body.mask, "mask") if body.mask else None
            options = ImageOptions.model_validate(
                body.model_dump(exclude={"image", "images", "mask"})
            )
            return _Call(options, edit=True, images=images, mask=mask)
        if not request.content_type.startswith("multipart/"):
            raise _Refused(400, "Edits must be multipart/form-data (or JSON where supported)")
        form = await request.post()
        entry.transport = "multipart"
        fields: dict[str, Any] = {}
        files: dict[str, list[bytes]] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files.setdefault(name, []).append(value.file.read())
            else:
                fields[name] = value
        entry.fields = dict(fields)
        entry.files = {name: [len(d) for d in datas] for name, datas in files.items()}
        unknown = set(files) - {"image", "image[]", "mask"}
        if unknown:
            raise _Refused(400, f"Unknown file field(s): {', '.join(sorted(unknown))}")
        if "image" in files and "image[]" in files:
            raise _Refused(
                400, "image and image[] are mutually exclusive and cannot be used together"
            )
        images = files.get("image") or files.get("image[]") or []
        if not images:
            raise _Refused(400, "image is required", code="missing_required_parameter")
        if len(images) > MAX_EDIT_IMAGES:
            raise _Refused(400, f"At most {MAX_EDIT_IMAGES} images are allowed")
        allowed = (
            ("png", "jpeg") if self.flavour in ("starrise", "anyfast") else ("png", "jpeg", "webp")
        )
        for position, data in enumerate(images):
            if _sniff(data) not in allowed:
                raise _Refused(400, f"image {position} must be one of: {', '.join(allowed)}")
            if len(data) > MAX_IMAGE_BYTES:
                raise _Refused(413, "Request payload too large")
        masks = files.get("mask") or []
        options = self._options(_typed_form(fields), ImageOptions, edit=True)
        return _Call(options, edit=True, images=images, mask=masks[0] if masks else None)

    def _options(self, payload: Any, model: type[ImageOptions], *, edit: bool) -> ImageOptions:
        """Validate the fields strictly: an undocumented one is a 400 like the real APIs give."""
        if not isinstance(payload, dict):
            raise _Refused(400, "The body must be a JSON object")
        documented = self._documented(edit)
        unknown = [key for key in payload if key not in documented]
        if unknown:
            raise _Refused(400, f"Unknown parameter: '{unknown[0]}'.", code="unknown_parameter")
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise _Refused(400, f"Invalid value for '{where}': {error['msg']}") from None

    def _documented(self, edit: bool) -> set[str]:
        """The fields each flavour's docs list for this endpoint."""
        common = {"model", "prompt", "n", "size", "output_format", "output_compression", "user"}
        if self.flavour == "infinityblue":
            extra = {"quality", "background", "response_format", "stream", "partial_images"}
            if edit:
                extra |= {"image", "images", "mask", "input_image_mask", "input_fidelity"}
            return common | extra
        if self.flavour in ("starrise", "anyfast"):
            extra = {"response_format"} if edit else {"quality", "moderation", "response_format"}
            return common | extra
        extra = {"quality", "background", "stream", "partial_images"}
        return common | extra | ({"input_fidelity"} if edit else {"moderation"})

    def _check_call(self, call: _Call) -> None:
        """The documented value rules of each flavour."""
        options = call.options
        profile = self.profile
        if options.model not in profile.models:
            raise _Refused(
                404,
                f"The model `{options.model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        if not options.prompt.strip():
            raise _Refused(400, "prompt is required", code="missing_required_parameter")
        limit = profile.max_edit_prompt_chars if call.edit else profile.max_prompt_chars
        if len(options.prompt) > limit:
            raise _Refused(
                400, f"prompt must be at most {limit} characters", code="string_above_max_length"
            )
        if options.size is not None and options.size != "auto":
            size = parse_size(options.size)
            if size is None:
                raise _Refused(400, "size must be WxH or auto")
            problem = model_spec(profile, options.model).size_problem(*size)  # per model (§4.1)
            if problem is not None:
                raise _Refused(400, f"Invalid size {options.size}: {problem}", code="invalid_size")
        if options.output_format is not None and options.output_format not in profile.formats:
            raise _Refused(400, f"output_format must be one of: {', '.join(profile.formats)}")
        if options.background is not None and options.background not in profile.backgrounds:
            raise _Refused(
                400,
                f"background {options.background} is not supported; use one of "
                f"{', '.join(profile.backgrounds)}",
            )
        starrise = self.flavour in ("starrise", "anyfast")
        if starrise and options.response_format == "url" and options.model != "gpt-image-2-c":
            raise _Refused(400, "response_format is only supported by gpt-image-2-c")
        if options.stream and not profile.streaming and self.flavour != "infinityblue":
            raise _Refused(400, "stream is not supported")

    async def _image_from_url(self, source: str, what: str) -> bytes:
        """A data URL's bytes, or one of this server's files (no fetching from the internet)."""
        if source.startswith("data:"):
            header, _, encoded = source.partition(",")
            if ";base64" not in header:
                raise _Refused(400, f"{what} must be a base64 data URL")
            try:
                data = await asyncio.to_thread(base64.b64decode, encoded, validate=True)
            except (binascii.Error, ValueError):
                raise _Refused(400, f"{what} is not valid base64") from None
        elif source.startswith(f"{self._base_url}/files/"):
            stored = self._files.get(source.rsplit("/", 1)[-1])
            if stored is None:
                raise _Refused(400, f"{what} could not be downloaded")
            data = stored[0]
        else:
            raise _Refused(400, f"{what} must be a data URL (the emulator fetches no URLs)")
        if _sniff(data) is None:
            raise _Refused(400, f"{what} is not a PNG, JPEG or WebP image")
        return data

    # ------------------------------------------------------------------ answering

    def _how_many(self, options: ImageOptions) -> int:
        if self.flavour == "infinityblue":
            return 1  # "The n parameter is not currently supported. Defaults to n=1"
        if options.model == "gpt-image-2-c":
            return 1
        return max(1, (options.n or 1) - self.faults.short_results)

    def _output_size(self, call: _Call) -> tuple[int, int]:
        size = parse_size(call.options.size or "auto")
        if size is not None:
            return size
        if call.images:
            spec = model_spec(self.profile, call.options.model)
            source = image_size(call.images[0])
            if spec.free_sizes is not None:
                return spec.free_sizes.snap(*source)
            tier = next(tier for tier in spec.sizes if spec.sizes[tier])
            return spec.auto_size(tier, source)  # the listed size nearest the input's shape
        return 1024, 1024

    async def _answer(self, request: web.Request, call: _Call) -> web.StreamResponse:
        balance = self.faults.balance
        if balance != -1 and balance <= 0:
            return self._no_balance()
        if self.faults.safety_fail_calls:
            self.faults.safety_fail_calls -= 1
            return self._safety_refusal()
        count = self._how_many(call.options)
        width, height = self._output_size(call)
        images = await self._draw(call, width, height, count)
        self.calls += 1
        options = call.options
        stream_fault = request.get(_STREAM_FAULT)
        if options.stream and self.profile.streaming:
            return await self._stream(request, call, images, stream_fault)
        await asyncio.sleep(self.faults.call_duration)
        use_url = options.response_format == "url" or (
            call.edit and options.model == "gpt-image-2-c" and options.response_format is None
        )
        data = []
        for image in images:
            if use_url:
                data.append(ImageDatum(url=self._serve(image, options.output_format or "png")))
            else:
                encoded = await asyncio.to_thread(base64.b64encode, image)
                data.append(ImageDatum(b64_json=encoded.decode("ascii")))
        body = ImagesResponse(created=int(time.time()), data=data)
        if self.flavour in ("infinityblue", "openai"):
            body.usage = ImagesUsage(
                input_tokens=50, output_tokens=1056 * count, total_tokens=50 + 1056 * count
            )
        if self.flavour == "openai":
            body.size = f"{width}x{height}"
            body.output_format = options.output_format or "png"
        payload = body.model_dump(exclude_none=True)
        text = await asyncio.to_thread(json.dumps, payload)
        return web.Response(text=text, content_type="application/json")

    async def _draw(self, call: _Call, width: int, height: int, count: int) -> list[bytes]:
        options = call.options
        fmt = options.output_format or "png"
        drawn_format: Literal["png", "jpeg"] = "jpeg" if fmt == "jpeg" else "png"
        common: dict[str, Any] = {
            "count": count,
            "output_format": drawn_format,
            "jpeg_quality": options.output_compression or 90,
        }
        prompt = options.prompt
        if call.edit:
            mask = call.mask if self.profile.mask else None  # InfinityBlue ignores masks
            draw = partial(
                render_edit_placeholder, width, height, prompt, call.images, mask, **common
            )
        else:
            draw = partial(render_placeholder, width, height, prompt, **common)
        drawn = await asyncio.gather(*(asyncio.to_thread(draw, index=i + 1) for i in range(count)))
        return [await asyncio.to_thread(_encode_as, image, fmt) for image in drawn]

    def _serve(self, data: bytes, fmt: str) -> str:
        name = f"img_{secrets.token_hex(8)}.{'jpg' if fmt == 'jpeg' else fmt}"
        self._files[name] = (data, f"image/{fmt}")
        return f"{self.base_url}/files/{name}"

    async def _stream(
        self, request: web.Request, call: _Call, images: list[bytes], fault: str | None
    ) -> web.StreamResponse:
        """SSE: ``partial_images`` previews of the first image, then one completed event each."""
        options = call.options
        prefix = "image_edit" if call.edit else "image_generation"
        partials = options.partial_images or 0
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        if fault == "stream_empty":
            await response.write_eof()
            return response
        pause = self.faults.call_duration / (partials + 1)
        size = options.size or "auto"
        for index in range(partials):
            await asyncio.sleep(pause)
            frame = await asyncio.to_thread(render_partial, images[0], index, partials)
            await _send_event(
                response,
                f"{prefix}.partial_image",
                {
                    "type": f"{prefix}.partial_image",
                    "b64_json": base64.b64encode(frame).decode("ascii"),
                    "partial_image_index": index,
                    "created_at": int(time.time()),
                    "size": size,
                    "output_format": "png",
                },
            )
            if fault == "stream_error" and index == 0:
                await _send_event(
                    response,
                    "error",
                    {
                        "type": "error",
                        "error": {
                            "message": "The server had an error while streaming.",
                            "type": "server_error",
                            "code": "server_error",
                        },
                    },
                )
                await response.write_eof()
                return response
        if fault == "stream_stall":
            await asyncio.sleep(request[_STREAM_HANG])
        if fault in ("stream_cut", "stream_stall"):
            await response.write_eof()  # previews came, the final image never does
            return response
        await asyncio.sleep(pause)
        for image in images:
            encoded = await asyncio.to_thread(base64.b64encode, image)
            await _send_event(
                response,
                f"{prefix}.completed",
                {
                    "type": f"{prefix}.completed",
                    "b64_json": encoded.decode("ascii"),
                    "created_at": int(time.time()),
                    "size": size,
                    "output_format": options.output_format or "png",
                    "usage": {"input_tokens": 50, "output_tokens": 1056, "total_tokens": 1106},
                },
            )
        if self.faults.send_done:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _models(self, request: web.Request) -> web.Response:
        body = ModelList(
            object="list", data=[ModelEntry(id=m, object="model") for m in self.profile.models]
        )
        return web.json_response(body.model_dump(exclude_none=True))

    async def _file(self, request: web.Request) -> web.Response:
        stored = self._files.get(request.match_info["name"])
        if stored is None or self.faults.dead_result_urls:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored[0], content_type=stored[1])


_ENTRY = web.RequestKey("openai_entry", LoggedCall)
_STREAM_FAULT = web.RequestKey("stream_fault", str)
_STREAM_HANG = web.RequestKey("stream_hang", float)


def _loggable(payload: Any) -> dict[str, Any]:
    """The JSON fields with images replaced by their length, for assertions and logs."""
    if not isinstance(payload, dict):
        return {}
    logged: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, str) and value.startswith("data:"):
            logged[key] = f"<data url, {len(value)} chars>"
        elif isinstance(value, list) and any(
            isinstance(v, str) and v.startswith("data:") for v in value
        ):
            logged[key] = [f"<data url, {len(v)} chars>" for v in value]
        else:
            logged[key] = value
    return logged


def _typed_form(fields: dict[str, Any]) -> dict[str, Any]:
    """Multipart values are text; numbers and booleans are turned back into their types."""
    typed: dict[str, Any] = {}
    for key, value in fields.items():
        text = str(value)
        if key in ("n", "output_compression", "partial_images") and text.lstrip("-").isdigit():
            typed[key] = int(text)
        elif key == "stream":
            typed[key] = text.lower() == "true"
        else:
            typed[key] = text
    return typed


async def _send_event(response: web.StreamResponse, name: str, payload: dict[str, Any]) -> None:
    data = await asyncio.to_thread(json.dumps, payload)
    await response.write(f"event: {name}\ndata: {data}\n\n".encode())
