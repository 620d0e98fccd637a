"""When an image API's error is a safety refusal: only where the upstream says so.

A refusal tells the member to reword the prompt and is never retried, so calling a plain failure
one sends them looking for a problem their prompt does not have. Both API families read their
errors through ``says_refusal``: a policy or moderation code, or a message that names the safety
system (or moderation) as what blocked the request. A status alone (the documented ToAPIs
``generation_failed`` wrapping "upstream returned status 422") or a message that merely mentions
the ``moderation`` parameter is not one.
"""

from __future__ import annotations

import re

SAFETY_CODES = (
    "content_policy",
    "moderation_blocked",
    "content_filter",
    "safety_violation",
    "safety_block",
    "policy_violation",
)
_SAFETY_PHRASES = (
    "safety system",
    "safety filter",
    "content policy",
    "content_policy",
    "moderation_blocked",
    "usage policies",
)
# "Blocked by moderation", "rejected by our safety checks", "flagged by the content filter".
_BLOCKED_BY = re.compile(
    r"\b(?:blocked|rejected|flagged|refused|denied)\b[\w\s]{0,24}?\b"
    r"(?:moderation|safety|content filter)"
)


def says_refusal(code: str | None, message: str | None) -> bool:
    """True when ``code`` or ``message`` says the safety system refused the request."""
    code_text = (code or "").lower()
    if any(word in code_text for word in SAFETY_CODES):
        return True
    text = (message or "").lower()
    return any(phrase in text for phrase in _SAFETY_PHRASES) or bool(_BLOCKED_BY.search(text))
