"""What an OpenAI-compatible answer means when it is not images (upstream-apis.md §2, §4.5).

Who is at fault decides the class: a safety refusal (``moderation_blocked`` and its relatives),
an account out of balance, a bad key, a request the API refused, or a server error worth another
try. Gateways answer with HTML pages, bare strings and odd codes, so reading is lenient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from multidict import CIMultiDictProxy
from pydantic import BaseModel, ValidationError

from bot.errors import (
    AuthenticationError,
    EaselError,
    InsufficientQuotaError,
    PermanentUpstreamError,
    RateLimitedError,
    SafetyRefusal,
    TaskNotFoundError,
    TransientUpstreamError,
    UpstreamRejectedError,
)
from bot.i18n import Text, _, literal
from bot.providers._bodies import ErrorBody
from bot.providers._http import parse_retry_after, rate_limited, short, unusable_answer
from bot.providers._refusals import says_refusal
from bot.providers.openai.bodies import loads
from bot.providers.openai.models import OpenAIErrorEnvelope

_M = TypeVar("_M", bound=BaseModel)


def is_moderation_error(error: ErrorBody | None) -> bool:
    """True only when an error body says the safety system refused (``moderation_blocked``…)."""
    return error is not None and says_refusal(error.code, error.message)


def retry_after_seconds(headers: CIMultiDictProxy[str]) -> float | None:
    """``retry-after-ms`` (OpenAI) or ``Retry-After`` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("Retry-After"))


@dataclass(frozen=True)
class ReplyReader:
    """Reads one API's answers: a body as its model, or the ``EaselError`` it stands for."""

    provider: str  # the profile's name, on every error
    label: str  # the API's name in messages

    async def parse(self, body: bytes, model: type[_M], status: int) -> _M:
        """A 2xx body as ``model``; HTML or garbage is a transient error, an error body mapped."""
        try:
            payload = await loads(body)
        except (ValueError, UnicodeDecodeError):
            raise self.not_json(status, body) from None
        if isinstance(payload, dict) and "error" in payload and not payload.get("data"):
            envelope = _envelope(payload)
            if envelope is not None:
                raise self.from_body(400, envelope.error, None, "answer")
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise unusable_answer(
                _(
                    "{service} sent an answer Easel could not read (HTTP {status}); "
                    "try again in a moment.",
                    service=self.label,
                    status=str(status),
                ),
                provider=self.provider,
                status=status,
                body=body,
            ) from exc

    def not_json(self, status: int, body: bytes) -> TransientUpstreamError:
        """An answer that is not JSON: a gateway's error page, worth another try."""
        return unusable_answer(
            _(
                "{service}'s gateway answered with an error page instead of JSON "
                "(HTTP {status}); try again in a moment.",
                service=self.label,
                status=str(status),
            ),
            provider=self.provider,
            status=status,
            body=body,
            code="not_json",
        )

    async def http_error(
        self, status: int, headers: CIMultiDictProxy[str], body: bytes
    ) -> EaselError:
        """Map a non-2xx answer: who is at fault decides the class."""
        try:
            payload = await loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            payload = None
        envelope = _envelope(payload)
        retry_after = retry_after_seconds(headers)
        if envelope is None:
            if status >= 500 or status in (408, 429):
                error = self.not_json(status, body)
                if status == 429:
                    return rate_limited(error, retry_after)
                error.retry_after = retry_after
                return error
            envelope = OpenAIErrorEnvelope(
                error=ErrorBody(message=body[:300].decode("utf-8", "replace"))
            )
        return self.from_body(status, envelope.error, retry_after, "request")

    def from_body(
        self, status: int, error: ErrorBody, retry_after: float | None, what: str
    ) -> EaselError:
        """The error an ``error`` object stands for; ``what`` failed: request, answer, stream."""
        label = self.label
        said = short(error.message or "")
        detail = f"{error.type or ''} {error.code or ''}: {said}".strip()
        common: dict[str, Any] = {"provider": self.provider, "status": status, "code": error.code}
        if is_moderation_error(error):
            return SafetyRefusal(
                _(
                    "{service}'s safety system refused this request. Reword the prompt (or use "
                    "other images) and try again.",
                    service=label,
                ),
                provider=self.provider,
                detail=detail,
            )
        code = (error.code or "").lower()
        kind = (error.type or "").lower()
        if status == 402 or "insufficient_quota" in (code, kind) or code == "billing_hard_limit":
            return InsufficientQuotaError(
                _("The {service} account is out of balance.", service=label),
                detail=detail,
                member_hint=_("An admin needs to top it up."),
                operator_hint=f"Top up the {label} account.",
                **common,
            )
        simple = _simple_error(label, self.provider.upper(), status, said)
        if simple is not None:
            kind_of_error, message, member_hint, operator_hint = simple
            return kind_of_error(
                message,
                detail=detail,
                member_hint=member_hint,
                operator_hint=operator_hint,
                **common,
            )
        if status == 429:
            return RateLimitedError(
                _(
                    "{service} is rate limiting requests (HTTP 429); try again in a moment.",
                    service=label,
                ),
                retry_after=retry_after,
                detail=detail,
                **common,
            )
        where = _("in the stream") if what == "stream" else literal(f"HTTP {status}")
        if status >= 500 or status in (408, 409) or kind in ("server_error", "api_error"):
            return TransientUpstreamError(
                _(
                    "{service} had a server error ({where}); try again in a moment.",
                    service=label,
                    where=where,
                ),
                retry_after=retry_after,
                detail=detail,
                **{**common, "code": error.code or ("stream_error" if what == "stream" else None)},
            )
        refused = {
            "request": _("the request"),
            "answer": _("the answer"),
            "stream": _("the stream"),
        }.get(what, literal(what))
        after = f": {said}" if said else ""
        return UpstreamRejectedError(
            _(
                "{service} refused {what} ({where}{said}).",
                service=label,
                what=refused,
                where=where,
                said=after,
            ),
            detail=detail,
            **common,
        )


def _simple_error(
    label: str, setting: str, status: int, said: str
) -> tuple[type[PermanentUpstreamError], Text, Text, str] | None:
    """The class, message and member and operator hints of a status that needs nothing more.

    ``setting`` prefixes the provider's own settings; the first provider may take its key, URL
    and model from the IMAGE_… ones instead, so the operator is told both.
    """
    if status == 401:
        return (
            AuthenticationError,
            _("{service} rejected the API key (HTTP 401).", service=label),
            _("An admin needs to check it."),
            f"Check {setting}_API_KEY (or IMAGE_API_KEY).",
        )
    if status == 403:
        after = f": {said}" if said else ""
        return (
            AuthenticationError,
            _(
                "{service} refused this API key access to the model (HTTP 403{said}).",
                service=label,
                said=after,
            ),
            _("An admin needs to check the key's access."),
            f"Check what {setting}_API_KEY (or IMAGE_API_KEY) may use.",
        )
    if status == 404:
        return (
            TaskNotFoundError,
            _("{service} has no such endpoint or model (HTTP 404).", service=label),
            _("An admin needs to check its base URL and model id."),
            f"Check {setting}_BASE_URL and {setting}_MODEL (or IMAGE_API_BASE_URL and "
            "IMAGE_MODEL).",
        )
    if status == 413:
        return (
            UpstreamRejectedError,
            _("{service} refused the images as too large (HTTP 413).", service=label),
            _("Use smaller or fewer images."),
            "Use smaller or fewer images.",
        )
    return None


def _envelope(payload: Any) -> OpenAIErrorEnvelope | None:
    if not isinstance(payload, dict) or "error" not in payload:
        return None
    try:
        return OpenAIErrorEnvelope.model_validate(payload)
    except ValidationError:
        return None
