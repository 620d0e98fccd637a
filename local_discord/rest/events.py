"""The gateway events a message change causes: MESSAGE_CREATE, MESSAGE_UPDATE, MESSAGE_DELETE."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Literal

from local_discord.gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES
from local_discord.models import StoredMessage
from local_discord.payloads import JSON, MessagePayload
from local_discord.state import World

log = logging.getLogger(__name__)

ChangeKind = Literal["create", "edit", "delete"]


def _unobserved(kind: ChangeKind, msg: StoredMessage) -> None:
    """No watcher: nothing to tell."""


def _always_wanted(guild_id: int | None, intent: int) -> bool:
    """Without a gateway to ask: build every event."""
    return True


@dataclass(frozen=True, slots=True)
class MessageEvents:
    """Tells the bot (and waiting tests) about message changes, gated by intents like Discord."""

    world: World
    dispatch: Callable[..., Awaitable[int]]  # Gateway.dispatch
    _: KW_ONLY
    enabled: Callable[[], bool]
    #: Told of every change first, ephemeral messages included (the feed for watchers).
    observe: Callable[[ChangeKind, StoredMessage], None] = _unobserved
    #: Whether any session would receive an event of this guild and intent (``Gateway.wants``):
    #: without one, the event is not built at all.
    wanted: Callable[[int | None, int], bool] = _always_wanted

    async def created(self, msg: StoredMessage) -> None:
        """MESSAGE_CREATE."""
        self.observe("create", msg)
        await self._emit("MESSAGE_CREATE", msg)

    async def updated(self, msg: StoredMessage) -> None:
        """MESSAGE_UPDATE."""
        self.observe("edit", msg)
        await self._emit("MESSAGE_UPDATE", msg)

    async def deleted(self, msg: StoredMessage) -> None:
        """MESSAGE_DELETE (IDs only)."""
        self.observe("delete", msg)
        if not self._announce(msg) or not self.wanted(msg.guild_id, _intent(msg)):
            return
        data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        await self.dispatch("MESSAGE_DELETE", data, guild_id=msg.guild_id, intent=_intent(msg))

    async def _emit(self, event: str, msg: StoredMessage) -> None:
        """The full message to sessions with MESSAGE_CONTENT, a redacted one to the others."""
        if not self._announce(msg) or not self.wanted(msg.guild_id, _intent(msg)):
            return
        world = self.world
        data = world.gateway_message(msg)
        redacted: MessagePayload | None = None
        if msg.author.id != world.bot_user.id:
            redacted = data.copy()
            redacted["content"] = ""
            redacted["embeds"] = []
            redacted["attachments"] = []
            redacted["components"] = []
        await self.dispatch(
            event, data, guild_id=msg.guild_id, intent=_intent(msg), redacted=redacted
        )

    def _announce(self, msg: StoredMessage) -> bool:
        """Wake whoever waits on the interaction that made ``msg``; whether the bot is told.

        A bot-token edit of an interaction response changes that interaction's ``original``.
        Ephemeral messages never reach the gateway.
        """
        if msg.interaction_id is not None:
            owner = self.world.interactions.get(msg.interaction_id)
            if owner is not None:
                owner.changed()
        return not msg.ephemeral and self.enabled()


def _intent(msg: StoredMessage) -> int:
    return INTENT_DIRECT_MESSAGES if msg.guild_id is None else INTENT_GUILD_MESSAGES
