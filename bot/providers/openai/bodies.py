"""Request bodies of the OpenAI-compatible Images APIs, built and read off the event loop.

A generation is JSON. An edit is JSON with data URLs (InfinityBlue) or multipart files
(Starrise, OpenAI): one ``image`` file, or ``image[]`` files for several, and ``mask`` as a file
(Starrise: "``image`` and ``image[]`` cannot be used together"). Bodies with images are megabytes,
so encoding them, and decoding JSON or base64 answers, runs in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import aiohttp

from bot.providers.openai.models import EditJSONBody, GenerationBody, ImageOptions

THREAD_THRESHOLD = 64 * 1024  # JSON or base64 longer than this is decoded off the event loop

# A body and its Content-Type (None: multipart, aiohttp sets it), built again for every attempt
# since a FormData can be sent once.
Payload: TypeAlias = Callable[[], Awaitable[tuple[bytes | aiohttp.FormData, str | None]]]


@dataclass(frozen=True)
class InputFile:
    """An image to send: bytes and type, or a URL the API fetches itself (JSON edits only)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str | None = None


async def loads(data: bytes | str) -> Any:
    """JSON from a body; a large one (images in base64) is parsed in a thread."""
    if len(data) > THREAD_THRESHOLD:
        return await asyncio.to_thread(json.loads, data)
    return json.loads(data)


async def decode_b64(text: str) -> bytes:
    """Base64 to bytes, off the event loop for anything image-sized."""
    if len(text) > THREAD_THRESHOLD:
        return await asyncio.to_thread(base64.b64decode, text, validate=False)
    return base64.b64decode(text, validate=False)


def generation_payload(options: GenerationBody) -> Payload:
    """``POST /v1/images/generations``: the options as JSON."""
    body = options.model_dump(exclude_none=True)

    async def payload() -> tuple[bytes | aiohttp.FormData, str | None]:
        return await _json_bytes(body), "application/json"

    return payload


async def json_edit_payload(
    options: ImageOptions, images: Sequence[InputFile], mask: InputFile | None
) -> Payload:
    """``POST /v1/images/edits`` as JSON: ``image`` + ``images`` (+ ``mask``) as URLs."""
    urls = await asyncio.gather(*(_as_url(image) for image in images))
    mask_url = await _as_url(mask) if mask is not None else None
    request = EditJSONBody(
        **options.model_dump(exclude_none=True),
        image=urls[0],
        images=list(urls[1:]) or None,
        mask=mask_url,
    )
    body = await _json_bytes(request.model_dump(exclude_none=True))

    async def payload() -> tuple[bytes | aiohttp.FormData, str | None]:
        return body, "application/json"

    return payload


def multipart_edit_payload(
    options: ImageOptions, files: Sequence[InputFile], mask: InputFile | None
) -> Payload:
    """``POST /v1/images/edits`` as multipart: ``image`` or ``image[]`` files, and ``mask``."""
    fields = options.model_dump(exclude_none=True)

    async def payload() -> tuple[bytes | aiohttp.FormData, str | None]:
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, _form_value(value))
        image_field = "image" if len(files) == 1 else "image[]"
        for image in files:
            form.add_field(
                image_field, image.data, filename=image.filename, content_type=image.content_type
            )
        if mask is not None:
            form.add_field("mask", mask.data, filename=mask.filename, content_type="image/png")
        return form, None

    return payload


def _data_url(image: InputFile) -> str:
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode('ascii')}"


async def _json_bytes(body: dict[str, Any]) -> bytes:
    """JSON-encode a body; data URLs make it large, so encoding runs in a thread."""
    return await asyncio.to_thread(lambda: json.dumps(body).encode("utf-8"))


async def _as_url(image: InputFile) -> str:
    """An image for a JSON body: its URL, or its bytes as a data URL (encoded in a thread)."""
    if image.url is not None and not image.data:
        return image.url
    return await asyncio.to_thread(_data_url, image)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
