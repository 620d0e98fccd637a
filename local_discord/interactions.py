"""Interactions as Discord tracks them: deadline, token life, callbacks and resulting messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from local_discord.clock import Clock
from local_discord.models import StoredMessage, User
from local_discord.payloads import JSON
from local_discord.waiting import Waitable

log = logging.getLogger(__name__)

# Interaction types.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Callback (response) types.
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What was uploaded in one multipart part (the bytes stay in the attachment store)."""

    field: str
    filename: str
    size: int
    content_type: str | None


@dataclass(slots=True)
class CallbackRecord:
    """One ``POST /interactions/{id}/{token}/callback`` as Discord saw it, accepted or not."""

    type: int | None
    data: JSON | None
    at: float
    latency: float
    status: int = 200
    error_code: int | None = None
    files: list[FileSummary] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when this callback acknowledged the interaction."""
        return self.status < 300


class InteractionHandle(Waitable):
    """A dispatched interaction: tests read and await its callbacks, original and follow-ups."""

    def __init__(
        self,
        *,
        id: int,
        token: str,
        type: int,
        payload: JSON,
        user: User,
        channel_id: int,
        guild_id: int | None,
        attachment_size_limit: int,
        clock: Clock,
        ack_deadline: float,
        token_ttl: float,
        command: JSON | None = None,
        source_message: StoredMessage | None = None,
        parent: InteractionHandle | None = None,
    ) -> None:
        self._waiters: list[asyncio.Future[None]] = []
        self.id = id
        self.token = token
        self.type = type
        self.payload = payload
        self.user = user
        self.channel_id = channel_id
        self.guild_id = guild_id
        self.attachment_size_limit = attachment_size_limit
        self.command = command
        self.source_message = source_message
        self.parent = parent
        self._clock = clock
        self._ack_deadline = ack_deadline
        self._token_ttl = token_ttl
        self.dispatched_at: float | None = None
        self.callbacks: list[CallbackRecord] = []
        self.response_type: int | None = None
        self.original: StoredMessage | None = None
        self.followups: list[StoredMessage] = []
        self.modal: JSON | None = None
        self.autocomplete_choices: list[JSON] | None = None

    def __repr__(self) -> str:
        return (
            f"<InteractionHandle id={self.id} type={self.type} name={self.name!r} "
            f"response_type={self.response_type}>"
        )

    @property
    def name(self) -> str | None:
        """The command name (application commands and autocomplete)."""
        data = self.payload.get("data") or {}
        name = data.get("name")
        return name if isinstance(name, str) else None

    @property
    def custom_id(self) -> str | None:
        """The component or modal ``custom_id``."""
        data = self.payload.get("data") or {}
        cid = data.get("custom_id")
        return cid if isinstance(cid, str) else None

    @property
    def ack_deadline_at(self) -> float:
        """Clock time after which the first callback gets 404/10062."""
        return (self.dispatched_at or 0.0) + self._ack_deadline

    @property
    def token_expires_at(self) -> float:
        """Clock time after which webhook calls with the token get 401/50027."""
        return (self.dispatched_at or 0.0) + self._token_ttl

    @property
    def acknowledged(self) -> bool:
        """A callback was accepted."""
        return self.response_type is not None

    @property
    def ack(self) -> CallbackRecord | None:
        """The accepted callback, if any."""
        for cb in self.callbacks:
            if cb.accepted:
                return cb
        return None

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the accepted callback."""
        ack = self.ack
        return None if ack is None else ack.latency

    @property
    def missed_deadline(self) -> bool:
        """Not acknowledged and the 3 s window is over ("The application did not respond")."""
        return not self.acknowledged and self._clock.now() > self.ack_deadline_at

    @property
    def expired(self) -> bool:
        """The 15 minute token life is over."""
        return self._clock.now() > self.token_expires_at

    @property
    def messages(self) -> list[StoredMessage]:
        """The original response (if any) followed by every follow-up that is a separate message."""
        out = [] if self.original is None else [self.original]
        out.extend(m for m in self.followups if m is not self.original)
        return out

    @property
    def public_message(self) -> StoredMessage | None:
        """The first of its messages everyone sees: the original response, or a public
        follow-up posted after a private one (the private one deleted or left aside)."""
        return next((m for m in self.messages if not m.ephemeral and not m.deleted), None)

    async def wait_for_public_message(
        self,
        predicate: Callable[[StoredMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
    ) -> StoredMessage:
        """Wait until ``public_message`` exists (and matches ``predicate``)."""

        def ready(h: InteractionHandle) -> bool:
            message = h.public_message
            return message is not None and (predicate is None or predicate(message))

        await self._wait_until(ready, timeout, f"public message of interaction {self.id}")
        message = self.public_message
        assert message is not None
        return message

    async def wait_for_callback(self, timeout: float = 5.0) -> CallbackRecord:  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
        """Wait for the accepted initial response and return it."""
        await self._wait_until(
            lambda h: h.acknowledged, timeout, f"callback of interaction {self.id}"
        )
        ack = self.ack
        assert ack is not None
        return ack

    async def wait_for_original(
        self,
        predicate: Callable[[StoredMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
    ) -> StoredMessage:
        """Wait until the original response exists (and matches ``predicate``)."""

        def ready(h: InteractionHandle) -> bool:
            return h.original is not None and (predicate is None or predicate(h.original))

        await self._wait_until(ready, timeout, f"original response of interaction {self.id}")
        assert self.original is not None
        return self.original

    async def wait_for_followups(self, count: int = 1, timeout: float = 5.0) -> list[StoredMessage]:  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
        """Wait until at least ``count`` follow-ups were posted."""
        await self._wait_until(
            lambda h: len(h.followups) >= count, timeout, f"{count} follow-up(s) of {self.id}"
        )
        return self.followups
