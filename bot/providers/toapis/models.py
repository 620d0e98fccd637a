"""Pydantic models for every ToAPIs JSON body (upstream-apis.md §1), shared by client and sandbox.

The ToAPIs docs disagree with themselves (numeric or string error codes, result URLs at the top
level or under ``result.data``, legacy ``fail_reason``), so every response model ignores unknown
fields, makes nearly everything optional and normalises the inconsistent parts on the way in.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from bot.providers._bodies import ErrorField, Lenient


class ErrorEnvelope(Lenient):
    """Any error body: ``{"error": {...}}`` (API) or ``{"success": false, "message": ...}``."""

    error: ErrorField | None = None
    success: bool | None = None
    message: str | None = None

    @property
    def code(self) -> str | None:
        """The machine-readable code, when the body has one."""
        return self.error.code if self.error else None

    @property
    def text(self) -> str:
        """The most useful human-readable message in the body ("" when there is none)."""
        if self.error and self.error.message:
            return self.error.message
        return self.message or ""


class ResultImageRef(Lenient):
    """One entry of ``result.data``."""

    url: str | None = None


class TaskResult(Lenient):
    """``result`` of a completed task: ``{"type": "image", "data": [{"url": ...}]}``."""

    type: str | None = None
    data: list[ResultImageRef] = Field(default_factory=list)


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


class TaskObject(Lenient):
    """The task object returned by submit (§1.4) and by the status query (§1.5)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(validation_alias=AliasChoices("id", "task_id"))
    # "object" would shadow the builtin inside the class body; dump with by_alias=True.
    object_type: str | None = Field(default=None, alias="object")
    model: str | None = None
    status: str = "queued"
    progress: int = 0
    created_at: int | None = None
    completed_at: int | None = None
    expires_at: int | None = None
    url: str | None = None
    result: TaskResult | None = None
    error: ErrorField | None = None
    fail_reason: str | None = None
    client_business_id: str | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("progress", mode="before")
    @classmethod
    def _progress_as_int(cls, value: object) -> object:
        """Webhooks send "100%"; clamp anything numeric into 0..100; unknown shapes become 0."""
        if value is None:
            return 0
        if isinstance(value, str):
            match = _PERCENT.match(value)
            value = float(match.group(1)) if match else 0
        if isinstance(value, int | float) and not isinstance(value, bool):
            return max(0, min(100, int(value)))
        return 0

    @field_validator("status", mode="before")
    @classmethod
    def _status_as_text(cls, value: object) -> object:
        """Statuses are compared lower-case; a missing status reads as still queued."""
        if value is None:
            return "queued"
        return str(value).strip().lower()

    @field_validator("created_at", "completed_at", "expires_at", mode="before")
    @classmethod
    def _timestamp_as_int(cls, value: object) -> object:
        """Unix seconds, tolerating floats and numeric strings; anything else is dropped."""
        if isinstance(value, bool):
            return None
        if isinstance(value, float):
            return int(value)
        if isinstance(value, str):
            try:
                return int(float(value))
            except ValueError:
                return None
        return value

    def result_urls(self) -> tuple[str, ...]:
        """Result URLs from ``result.data[].url`` then top-level ``url``, deduplicated in order.

        The docs disagree on where the URL lives (§1.5), so both places are read.
        """
        urls: list[str] = []
        candidates = [item.url for item in self.result.data] if self.result else []
        candidates.append(self.url)
        for url in candidates:
            if url and url not in urls:
                urls.append(url)
        return tuple(urls)

    @property
    def error_message(self) -> str | None:
        """The failure message, falling back to the legacy ``fail_reason`` field."""
        if self.error and self.error.message:
            return self.error.message
        return self.fail_reason or None

    @property
    def error_code(self) -> str | None:
        """The failure code, when the API gave one."""
        return self.error.code if self.error else None


class GenerationRequest(BaseModel):
    """The body of ``POST /v1/images/generations`` (§1.3). Dump with ``exclude_none=True``.

    The sandbox parses incoming bodies with it too, so it accepts the ``image_urls`` alias and
    ignores fields it does not model (the real API does not reject unknown fields either).
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    model: str
    prompt: str
    size: str | None = None
    resolution: str | None = None
    n: int | None = None
    reference_images: list[str] | None = None
    image_urls: list[str] | None = None
    mask_url: str | None = None
    quality: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    response_format: str | None = None
    callback_url: str | None = None
    client_business_id: str | None = None
    metadata: dict[str, Any] | None = None

    def references(self) -> list[str]:
        """Reference URLs from either field (``image_urls`` is the documented alias)."""
        return [*(self.reference_images or []), *(self.image_urls or [])]


class UploadedFile(Lenient):
    """``data`` of a successful upload: ``url`` is what the generation request needs."""

    id: str | None = None
    url: str
    mime_type: str | None = None
    size: int | None = None


class UploadResponse(Lenient):
    """``POST /v1/uploads/images``: ``{success, message, data: {id, url, mime_type, size}}``."""

    success: bool = True
    message: str = ""
    data: UploadedFile | None = None


class BalanceResponse(Lenient):
    """``GET /v1/balance``: the key's quota; ``remain_balance == -1`` means unlimited."""

    success: bool = True
    message: str = ""
    remain_balance: float | None = None
    used_balance: float | None = None
    remain_credits: float | None = None
    used_credits: float | None = None
    credits_per_usd: float | None = None
    unlimited_quota: bool | None = None

    @property
    def unlimited(self) -> bool:
        """True when the key has no spending cap."""
        return bool(self.unlimited_quota) or self.remain_balance == -1
