"""Pydantic models for every body of the OpenAI-compatible Images APIs (upstream-apis.md §2–§4).

Shared by the client (``bot.providers.openai.client``) and the emulator
(``bot.sandbox.openai_server``). Requests forbid unknown fields, so a typo never reaches an API;
responses ignore unknown fields and make nearly everything optional, because gateways add and
drop fields freely (Starrise documents only ``data``; InfinityBlue adds ``usage``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.providers._bodies import ErrorField, Lenient


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageOptions(_Request):
    """Fields generations and edits share (§4.1, §4.2); None is never sent."""

    model: str
    prompt: str
    n: int | None = Field(default=None, ge=1, le=10)
    size: str | None = None  # "WxH" or "auto"
    quality: Literal["low", "medium", "high", "auto"] | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    output_compression: int | None = Field(default=None, ge=0, le=100)
    background: Literal["auto", "opaque", "transparent"] | None = None
    moderation: Literal["auto", "low"] | None = None
    response_format: Literal["b64_json", "url"] | None = None
    stream: bool | None = None
    partial_images: int | None = Field(default=None, ge=0, le=3)
    user: str | None = None


class GenerationBody(ImageOptions):
    """``POST /v1/images/generations`` (JSON)."""


class EditJSONBody(ImageOptions):
    """``POST /v1/images/edits`` as JSON (InfinityBlue): images as data URLs or image URLs."""

    image: str  # the primary image
    images: list[str] | None = Field(default=None, max_length=16)  # more references
    mask: str | None = None


class ImageDatum(Lenient):
    """One result: base64 (GPT image models) or a URL (some gateways, DALL·E)."""

    b64_json: str | None = Field(default=None, repr=False)
    url: str | None = None
    revised_prompt: str | None = None


class TokenDetails(Lenient):
    """Token counts by kind."""

    image_tokens: int | None = None
    text_tokens: int | None = None


class ImagesUsage(Lenient):
    """Token usage of one call."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: TokenDetails | None = None


class ImagesResponse(Lenient):
    """The synchronous answer of both endpoints: ``{created, data[], usage}``."""

    created: int | None = None
    data: list[ImageDatum] = Field(default_factory=list)
    usage: ImagesUsage | None = None
    size: str | None = None
    output_format: str | None = None
    background: str | None = None
    quality: str | None = None


class OpenAIErrorEnvelope(Lenient):
    """``{"error": {...}}``; a bare string in ``error`` is taken as the message."""

    error: ErrorField


PartialType = Literal["image_generation.partial_image", "image_edit.partial_image"]
CompletedType = Literal["image_generation.completed", "image_edit.completed"]


class StreamEventHead(Lenient):
    """Just the discriminator of an SSE event, read before the (large) image is validated."""

    type: str | None = None


class PartialImageEvent(Lenient):
    """A preview frame (§4.4). Never the result: the final image comes in a completed event."""

    type: PartialType
    b64_json: str = Field(repr=False)
    partial_image_index: int = 0
    size: str | None = None
    output_format: str | None = None


class CompletedImageEvent(Lenient):
    """The final image of a streamed call."""

    type: CompletedType
    b64_json: str = Field(repr=False)
    size: str | None = None
    output_format: str | None = None
    usage: ImagesUsage | None = None


class StreamErrorEvent(Lenient):
    """An ``error`` object inside the stream (the SDK raises on any ``data`` with ``error``)."""

    type: str | None = None
    error: ErrorField
