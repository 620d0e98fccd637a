"""Both API families call a failure a safety refusal only where the upstream says it is one."""

from __future__ import annotations

import pytest

from bot.providers._bodies import ErrorBody
from bot.providers._refusals import says_refusal
from bot.providers.openai.errors import is_moderation_error


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("content_policy_violation", None),
        ("moderation_blocked", "Your request was rejected"),
        ("content_filter", ""),
        (None, "Your request was rejected by the safety system."),
        (None, "Blocked by moderation"),
        (None, "The prompt was flagged by our content filter"),
    ],
)
def test_a_policy_code_or_a_message_naming_the_safety_system_is_a_refusal(
    code: str | None, message: str | None
) -> None:
    assert says_refusal(code, message)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("generation_failed", "call upstream API failed: upstream returned status 422"),
        ("invalid_request", "Invalid value for 'moderation': must be auto or low"),
        ("server_error", "The server had an error processing your request."),
        (None, "422 Unprocessable Entity"),
        (None, None),
    ],
)
def test_a_status_or_a_mention_of_moderation_is_not_a_refusal(
    code: str | None, message: str | None
) -> None:
    assert not says_refusal(code, message)


def test_openai_errors_read_refusals_the_same_way() -> None:
    assert is_moderation_error(ErrorBody(code="moderation_blocked", message="no"))
    assert not is_moderation_error(
        ErrorBody(type="invalid_request_error", message="'moderation' must be one of auto, low")
    )
    assert not is_moderation_error(None)
