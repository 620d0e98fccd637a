"""One error hierarchy for Easel, shared by the engine, the providers, the cogs and the CLI.

Every error is worded for whoever reads it. ``message`` is the audience-neutral core: what
happened, in plain words that read the same in Discord and in a terminal (no option names in
Discord's markup, no "this server", no slash commands). ``member_hint`` is what a Discord member
can do about it (the option to change, or that an admin must act); ``operator_hint`` is what the
operator running Easel can do (the flag or setting to change). ``for_member()`` and
``for_operator()`` join the core and the hint; ``user_message`` is the member's wording.

A member reads Easel in their own language, so the core and the member hint are ``bot.i18n.Text``
(marked with ``_`` where they are written) and ``text`` joins them for the Discord side to render
in the reader's language; ``for_member()`` is its English. The operator's command line is
English: ``operator_hint`` is plain text.

The class says who is at fault and what the engine does about it:

* ``InputError``: the member's input is wrong; nothing is spent upstream.
* ``RefusalError``: a policy rule or the image service's safety system said no; never retried.
* ``TransientUpstreamError``: the service hiccuped (429, 5xx, HTML error page, timeout); retried.
* ``PermanentUpstreamError``: the service said no for good (bad key, no balance, bad request).
* ``ConfigError``: a setting is missing or wrong; the process exits 2 with one line.
* ``InternalError``: a bug; logged with the job id, the member gets a short reference.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, NotRequired, TypedDict, Unpack

import humanize

from bot.i18n.text import Text, _, literal

Audience = Literal["member", "operator"]


def in_words(seconds: float) -> str:
    """A duration as people say it: "5 seconds", "2 minutes", "1 hour and 30 minutes"."""
    return humanize.precisedelta(timedelta(seconds=max(seconds, 0)), format="%0.3g")


class Hints(TypedDict, total=False):
    """What a reader can do about an error: a member (any language) or the operator (English)."""

    member_hint: Text | str
    operator_hint: str


class UpstreamFields(Hints):
    """What an image API said, beside the message (see ``UpstreamError``)."""

    provider: str
    status: NotRequired[int | None]
    code: NotRequired[str | None]
    detail: NotRequired[str]


class EaselError(Exception):
    """Base class: an error with a message that is safe to show, worded per audience.

    A plain ``str`` message or hint is shown as it is in every language (an operator's setting,
    upstream wording); what a member reads is marked for translation with ``bot.i18n._``.
    """

    def __init__(
        self, message: Text | str, *, member_hint: Text | str = "", operator_hint: str = ""
    ) -> None:
        self.message_text = Text.of(message)
        self.hint_text = Text.of(member_hint) if member_hint else None
        self.operator_hint = operator_hint
        super().__init__(str(self.message_text))

    @property
    def message(self) -> str:
        """The audience-neutral core, in English."""
        return str(self.message_text)

    @property
    def member_hint(self) -> str:
        """What a member can do about it, in English ("" when nothing)."""
        return str(self.hint_text) if self.hint_text is not None else ""

    @property
    def text(self) -> Text:
        """What a Discord member reads, in any language: the core, then what they can do."""
        if self.hint_text is None:
            return self.message_text
        # Translators: an error and, after it, what the member can do about it.
        return _("{message} {hint}", message=self.message_text, hint=self.hint_text)

    def for_member(self) -> str:
        """What a Discord member reads, in English."""
        return str(self.text)

    def for_operator(self) -> str:
        """What the operator reads on the command line: the core, then the flag or setting."""
        message = self.message
        return f"{message} {self.operator_hint}" if self.operator_hint else message

    def render(self, audience: Audience) -> str:
        """The message for ``audience``, in English."""
        return self.for_member() if audience == "member" else self.for_operator()

    def text_for(self, audience: Audience) -> Text:
        """The message for ``audience``: a member's in any language, an operator's in English."""
        return self.text if audience == "member" else literal(self.for_operator())

    @property
    def user_message(self) -> str:
        """The member's wording, in English (logs)."""
        return self.for_member()


class ConfigError(EaselError):
    """A setting is missing or invalid; names the setting so the admin can fix it."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class InputError(EaselError):
    """The member's input cannot be used as given; the message says what to change."""

    def __init__(
        self, message: Text | str, *, field: str | None = None, **hints: Unpack[Hints]
    ) -> None:
        super().__init__(message, **hints)
        self.field = field


class RefusalError(EaselError):
    """A rule said no: server policy or the image service's safety system."""


class PolicyRefusal(RefusalError):
    """A server rule (channel, role, quota, blocked term) refused the job before any spend.

    ``admin_detail`` is for the moderation log only (e.g. which blocked term matched): telling
    the member would teach them how to get around the list.
    """

    def __init__(self, message: Text | str, *, rule: str, admin_detail: Text | str = "") -> None:
        super().__init__(message)
        self.rule = rule
        self.admin_detail_text = Text.of(admin_detail) if admin_detail else None
        self.admin_detail = str(self.admin_detail_text) if admin_detail else ""


class SafetyRefusal(RefusalError):
    """The image service's safety system refused the prompt or the result."""

    def __init__(
        self, message: Text | str, *, provider: str, detail: str = "", **hints: Unpack[Hints]
    ) -> None:
        super().__init__(message, **hints)
        self.provider = provider
        self.detail = detail


class UpstreamError(EaselError):
    """An error reported by (or while talking to) an image API."""

    def __init__(
        self,
        message: Text | str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        detail: str = "",
        **hints: Unpack[Hints],
    ) -> None:
        super().__init__(message, **hints)
        self.provider = provider
        self.status = status
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        return " | ".join(parts)


class TransientUpstreamError(UpstreamError):
    """Worth retrying later: rate limits, server errors, gateway HTML pages, timeouts."""

    def __init__(
        self,
        message: Text | str,
        *,
        retry_after: float | None = None,
        **fields: Unpack[UpstreamFields],
    ) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class RateLimitedError(TransientUpstreamError):
    """HTTP 429: slow down, honouring ``retry_after`` when the service sent one."""


class PermanentUpstreamError(UpstreamError):
    """Retrying the same request will not help."""


class AuthenticationError(PermanentUpstreamError):
    """HTTP 401/403: the API key is wrong or not allowed to use this model."""


class InsufficientQuotaError(PermanentUpstreamError):
    """HTTP 402: the account behind the API key has run out of balance."""


class TaskNotFoundError(PermanentUpstreamError):
    """HTTP 404: the service does not know the task (or the endpoint)."""


class UpstreamRejectedError(PermanentUpstreamError):
    """HTTP 400/413: the service refused the request's parameters."""


class TaskFailedError(PermanentUpstreamError):
    """The task ran and ended as ``failed`` for a reason other than safety."""


class JobTimeoutError(PermanentUpstreamError):
    """The task did not finish within the job's deadline."""


class ResultUnavailableError(PermanentUpstreamError):
    """The task finished but its result images could not be downloaded."""


class InternalError(EaselError):
    """A bug in Easel. The member sees a short reference; the log has the details."""
