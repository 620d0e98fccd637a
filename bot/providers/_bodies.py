"""What the JSON bodies of both API families share: lenient reading, the error object, models.

ToAPIs and the OpenAI-compatible gateways both answer errors as ``{"error": {code, message,
type}}`` and both get it wrong the same ways (numeric or string codes, a bare string in
``error``), so the normalising lives here once; each API's models module adds its own fields.
Both list models the OpenAI way (``GET /v1/models``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


class Lenient(BaseModel):
    """Base for response bodies: unknown fields are dropped, never an error."""

    model_config = ConfigDict(extra="ignore")


class ErrorBody(Lenient):
    """An ``error`` object. ``code`` is numeric in some answers and a string in others."""

    code: str | None = None
    message: str | None = None
    type: str | None = None
    param: str | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code_as_text(cls, value: object) -> object:
        """Keep one type for ``code``: 404 and "404" mean the same thing to callers."""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            return str(int(value))
        return value


def error_from_any(value: object) -> object:
    """Accept ``"error": "text"`` too: some gateways put a bare string there."""
    if isinstance(value, str):
        return {"message": value}
    return value


# The ``error`` field of any body: an object, or a bare string taken as its message.
ErrorField = Annotated[ErrorBody, BeforeValidator(error_from_any)]


class ModelEntry(Lenient):
    """One entry of ``GET /v1/models``."""

    id: str
    object: str | None = None
    owned_by: str | None = None
    type: str | None = None


class ModelList(Lenient):
    """``GET /v1/models`` (the OpenAI list both families serve)."""

    object: str | None = None
    data: list[ModelEntry] = Field(default_factory=list)
