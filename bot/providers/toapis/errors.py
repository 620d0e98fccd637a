"""What a ToAPIs answer means when it is not a success (upstream-apis.md §1.9).

Every failure leaves the ToAPIs client as an ``EaselError`` from ``bot.errors`` that its reader
(a member, or the operator) can act on: the HTTP status (or, in a 2xx body that is really an error,
its code) decides the class, and a failed task's words decide whether it was a safety refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from bot.errors import (
    AuthenticationError,
    EaselError,
    InsufficientQuotaError,
    RateLimitedError,
    ResultUnavailableError,
    SafetyRefusal,
    TaskNotFoundError,
    TransientUpstreamError,
    UpstreamRejectedError,
)
from bot.i18n import _
from bot.providers._http import (
    Reply,
    body_detail,
    parse_retry_after,
    rate_limited,
    short,
    unusable_answer,
)
from bot.providers._refusals import says_refusal
from bot.providers.toapis.models import ErrorEnvelope

Operation = Literal["upload", "submit", "poll", "download", "check"]
_M = TypeVar("_M", bound=BaseModel)

_MAPPED_4XX = frozenset({400, 401, 402, 403, 404, 408, 413, 422, 429})
# Codes a 2xx error body uses, read as the HTTP status they stand for.
_CODE_STATUS = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 402,
    "unauthorized": 401,
    "authentication_error": 401,
    "task_not_found": 404,
    "not_found_error": 404,
    "content_policy_violation": 422,
    "invalid_request": 400,
}


def is_safety_failure(code: str | None, message: str | None) -> bool:
    """True only when a failed task's code or message says the safety system refused it (§1.9).

    The documented ``generation_failed`` wrapping "upstream returned status 422" is a failure.
    """
    return says_refusal(code, message)


@dataclass(frozen=True)
class ReplyReader:
    """Reads one client's answers: a body as its model, or the error it stands for.

    ``provider`` names the client in errors; ``model_id`` is told when a key lacks access.
    """

    provider: str
    model_id: str

    def parse(self, op: Operation, reply: Reply, model: type[_M]) -> _M:
        """Validate a 2xx body; HTML or garbage becomes a transient error, never a crash."""
        payload = reply.json()
        if payload is None:
            raise self.not_json(reply)
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            envelope = _envelope(payload)
            if envelope is not None and (envelope.error is not None or envelope.success is False):
                code = (envelope.code or "").lower()
                status = int(code) if code.isdigit() else _CODE_STATUS.get(code, 400)
                raise self._status_error(op, status, reply, envelope) from exc
            raise unusable_answer(
                _(
                    "The image service sent an answer Easel could not read (HTTP {status}); "
                    "try again in a moment.",
                    status=str(reply.status),
                ),
                provider=self.provider,
                status=reply.status,
                body=reply.body,
            ) from exc

    def error(self, op: Operation, reply: Reply) -> EaselError:
        """Map a non-2xx reply to the error hierarchy."""
        envelope = _envelope(reply.json())
        if envelope is None and (reply.status >= 500 or reply.status in (408, 429)):
            # The CDN front sends HTML 5xx pages; 4xx pages still say who is at fault.
            error = self.not_json(reply)
            if reply.status == 429:
                return rate_limited(error, parse_retry_after(reply.headers.get("Retry-After")))
            return error
        return self._status_error(op, reply.status, reply, envelope)

    def not_json(self, reply: Reply) -> TransientUpstreamError:
        """An answer that is not JSON: a gateway's error page, worth another try."""
        return unusable_answer(
            _(
                "The image service's gateway answered with an error page instead of JSON "
                "(HTTP {status}); try again in a moment.",
                status=str(reply.status),
            ),
            provider=self.provider,
            status=reply.status,
            body=reply.body,
        )

    def _status_error(
        self, op: Operation, status: int, reply: Reply, envelope: ErrorEnvelope | None
    ) -> EaselError:
        upstream = short(envelope.text) if envelope else ""
        code = envelope.code if envelope else None
        detail = upstream or body_detail(reply.body)
        common: dict[str, Any] = {"provider": self.provider, "status": status, "code": code}
        said = f": {upstream}" if upstream else ""
        code_text = str(status)

        if op == "download" and 400 <= status < 500 and status not in (408, 429):
            return ResultUnavailableError(
                _(
                    "The result link expired or is gone (HTTP {status}); run the request again.",
                    status=code_text,
                ),
                detail=detail,
                **common,
            )
        refused = status == 422 and _says_refusal(envelope)
        if (status in (400, 413, 422) and not refused) or (
            400 <= status < 500 and status not in _MAPPED_4XX
        ):
            rejected = (
                _(
                    "The image service refused the uploaded image (HTTP {status}{said}).",
                    status=code_text,
                    said=said,
                )
                if op == "upload"
                else _(
                    "The image service refused the request (HTTP {status}{said}).",
                    status=code_text,
                    said=said,
                )
            )
            return UpstreamRejectedError(
                rejected,
                detail=detail,
                **common,
            )
        if status in (401, 403):
            access = "" if status == 401 else f" and its access to {self.model_id}"
            return AuthenticationError(
                _("The image service rejected the API key (HTTP 401).")
                if status == 401
                else _(
                    "The image service refused this API key access (HTTP {status}).",
                    status=code_text,
                ),
                detail=detail,
                member_hint=_("An admin needs to check IMAGE_API_KEY.")
                if status == 401
                else _(
                    "An admin needs to check IMAGE_API_KEY and its access to {model}.",
                    model=self.model_id,
                ),
                operator_hint=f"Check IMAGE_API_KEY{access}.",
                **common,
            )
        if status == 402:
            return InsufficientQuotaError(
                _("The image service account is out of balance (HTTP 402)."),
                detail=detail,
                member_hint=_("An admin needs to top it up."),
                operator_hint="Top up the ToAPIs account.",
                **common,
            )
        if status == 404 and op == "poll":
            return TaskNotFoundError(
                _("The image service does not know this task (HTTP 404); it may have expired."),
                detail=detail,
                **common,
            )
        if status == 404:
            return TaskNotFoundError(
                _("The image service has no such endpoint (HTTP 404)."),
                detail=detail,
                member_hint=_("An admin needs to check IMAGE_API_BASE_URL."),
                operator_hint="Check IMAGE_API_BASE_URL.",
                **common,
            )
        if refused:
            return SafetyRefusal(
                _(
                    "The image service's safety system refused this request; "
                    "try rewording the prompt or using other images."
                ),
                provider=self.provider,
                detail=detail,
            )
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        if status == 429:
            return RateLimitedError(
                _("The image service is rate limiting requests (HTTP 429); try again in a moment."),
                retry_after=retry_after,
                detail=detail,
                **common,
            )
        return TransientUpstreamError(
            _(
                "The image service had a server error (HTTP {status}); try again in a moment.",
                status=code_text,
            ),
            detail=detail,
            retry_after=retry_after,
            **common,
        )


def _says_refusal(envelope: ErrorEnvelope | None) -> bool:
    """An HTTP 422 is a content-policy refusal (§1.9) unless its body names another error."""
    if envelope is None:
        return True
    code = (envelope.code or "").lower()
    if not code or code.isdigit():
        return not envelope.text or is_safety_failure(None, envelope.text)
    return is_safety_failure(code, envelope.text)


def _envelope(payload: Any) -> ErrorEnvelope | None:
    if not isinstance(payload, dict):
        return None
    try:
        return ErrorEnvelope.model_validate(payload)
    except ValidationError:
        return None
