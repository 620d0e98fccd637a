"""A live feed of everything the local Discord does, for watchers other than the bot.

The bot hears about changes through the gateway, gated by intents and never told of ephemeral
messages, as on Discord. A watcher (a web page showing the server, a recorder) needs more: every
message version as it is stored, every interaction dispatched and how it was answered, every REST
call and every change to the synced commands, the moment it happens. ``Feed.listen`` hands each
``FeedEvent`` to a plain callback, synchronously, in the order things happened; ``subscribe``
queues them for an ``async for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from local_discord.interactions import CallbackRecord, InteractionHandle
from local_discord.models import StoredMessage
from local_discord.rest.http import RequestRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MessageChanged:
    """A message was created, edited or deleted (ephemeral ones too); its payload is current."""

    kind: Literal["create", "edit", "delete"]
    message: StoredMessage


@dataclass(frozen=True, slots=True)
class InteractionDispatched:
    """A simulated user's interaction went to the bot (INTERACTION_CREATE)."""

    interaction: InteractionHandle


@dataclass(frozen=True, slots=True)
class InteractionAnswered:
    """The bot called back on an interaction; ``callback.accepted`` says whether Discord took it."""

    interaction: InteractionHandle
    callback: CallbackRecord


@dataclass(frozen=True, slots=True)
class RequestHandled:
    """One HTTP request was answered (a 429 is a rate-limit hit)."""

    record: RequestRecord


@dataclass(frozen=True, slots=True)
class CommandsChanged:
    """The application commands of one scope were written (``None``: the global ones)."""

    scope: int | None


FeedEvent = (
    MessageChanged
    | InteractionDispatched
    | InteractionAnswered
    | RequestHandled
    | (CommandsChanged)
)
Listener = Callable[[FeedEvent], None]


class Feed:
    """Fan-out of ``FeedEvent``s to listeners; a listener that raises is logged and kept."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    @property
    def watched(self) -> bool:
        """Someone listens (the server builds events only then)."""
        return bool(self._listeners)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns the function that stops it."""
        self._listeners.append(listener)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return stop

    def emit(self, event: FeedEvent) -> None:
        """Hand ``event`` to every listener, in the order they started listening."""
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a feed listener failed on %s", type(event).__name__)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[AsyncIterator[FeedEvent]]:
        """``with feed.subscribe() as events: async for event in events`` (queued, never lost)."""
        queue: asyncio.Queue[FeedEvent] = asyncio.Queue()
        stop = self.listen(queue.put_nowait)

        async def events() -> AsyncIterator[FeedEvent]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            stop()
