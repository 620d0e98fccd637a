"""Channels and their messages through the bot token: the fallback after interaction tokens die."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from aiohttp import web

from local_discord.clock import Clock
from local_discord.errors import (
    CANNOT_EDIT_OTHER_USERS_MESSAGE,
    UNKNOWN_CHANNEL,
    DiscordError,
    cannot_send_to_user,
    form_error,
    missing_access,
    missing_permissions,
    unknown_message,
)
from local_discord.models import DM_CHANNEL, Channel, StoredMessage
from local_discord.permissions import Permission
from local_discord.ratelimit import Throttle
from local_discord.rest.events import MessageEvents
from local_discord.rest.http import (
    API_PREFIX,
    BotAuth,
    json_response,
    no_content,
    read_body,
    require,
    snowflake,
)
from local_discord.rules import parse_message_body
from local_discord.state import World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChannelRoutes:
    """``/channels/{channel_id}[/typing|/messages[/{message_id}[/reactions/...]]]``."""

    world: World
    clock: Clock
    auth: BotAuth
    throttle: Throttle
    events: MessageEvents
    _: KW_ONLY
    upload_limit: Callable[[], int]
    on_change: Callable[[], None]

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register this resource's routes."""
        ch = f"{API_PREFIX}/channels/{{channel_id}}"
        router.add_get(ch, self.get_channel)
        router.add_post(f"{ch}/typing", self.typing)
        router.add_get(f"{ch}/messages", self.list_messages)
        router.add_post(f"{ch}/messages", self.create_message)
        router.add_get(f"{ch}/messages/{{message_id}}", self.get_message)
        router.add_patch(f"{ch}/messages/{{message_id}}", self.edit_message)
        router.add_delete(f"{ch}/messages/{{message_id}}", self.delete_message)
        react = f"{ch}/messages/{{message_id}}/reactions/{{emoji}}/@me"
        router.add_put(react, self.reaction)
        router.add_delete(react, self.reaction)

    def _channel(self, request: web.Request) -> Channel:
        """The channel in the path, for an authorized request."""
        self.auth.check(request)
        channel = self.world.channels.get(snowflake(request, "channel_id"))
        if channel is None:
            raise DiscordError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return channel

    def _visible(self, channel: Channel, request: web.Request) -> StoredMessage:
        """The message in the path, if channel endpoints can reach it."""
        msg = self.world.visible_message(channel.id, snowflake(request, "message_id"))
        if msg is None:
            raise unknown_message()
        return msg

    async def get_channel(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}``."""
        channel = self._channel(request)
        if (
            channel.guild_id is not None
            and not self.world.bot_permissions(channel) & Permission.VIEW_CHANNEL
        ):
            raise missing_access()
        return json_response(channel.payload())

    async def typing(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/typing``."""
        require(self.world.bot_permissions(self._channel(request)), Permission.SEND_MESSAGES)
        return no_content()

    async def list_messages(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages``: newest first, with before/after/around/limit."""
        channel = self._channel(request)
        require(self.world.bot_permissions(channel), Permission.READ_MESSAGE_HISTORY)
        q = request.query
        try:
            limit = max(1, min(100, int(q.get("limit", "50"))))
            before = int(q["before"]) if "before" in q else None
            after = int(q["after"]) if "after" in q else None
            around = int(q["around"]) if "around" in q else None
        except ValueError:
            raise form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
        live = [
            m
            for mid in channel.message_ids
            if (m := self.world.messages[mid]) and not m.deleted and not m.ephemeral
        ]
        if around is not None:
            idx = next((i for i, m in enumerate(live) if m.id >= around), len(live))
            start = max(0, idx - limit // 2)
            picked = live[start : start + limit]
        elif after is not None:
            picked = [m for m in live if m.id > after][:limit]
        else:
            if before is not None:
                live = [m for m in live if m.id < before]
            picked = live[-limit:]
        picked.reverse()
        return json_response([m.payload() for m in picked])

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /channels/{c}/messages/{m}``."""
        channel = self._channel(request)
        require(self.world.bot_permissions(channel), Permission.READ_MESSAGE_HISTORY)
        return json_response(self._visible(channel, request).payload())

    async def create_message(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/messages``: VIEW + SEND (+ ATTACH_FILES, EMBED_LINKS)."""
        channel = self._channel(request)
        headers = self.throttle("message_create", ("channel", channel.id))
        data, files = await read_body(request)
        body = parse_message_body(data)
        perms = self.world.bot_permissions(channel)
        recipient = channel.recipient if channel.type == DM_CHANNEL else None
        if recipient is not None and recipient.id in self.world.dms_closed:
            raise cannot_send_to_user()
        needed = Permission.SEND_MESSAGES
        if files:
            needed |= Permission.ATTACH_FILES
        if body.embeds:
            needed |= Permission.EMBED_LINKS
        require(perms, needed)
        ref = body.message_reference
        if ref is not None:
            ref = {**ref}
            ref.setdefault("channel_id", str(channel.id))
            if channel.guild_id is not None:
                ref.setdefault("guild_id", str(channel.guild_id))
        msg = self.world.create_message(
            channel=channel,
            author=self.world.bot_user,
            body=body,
            files=files,
            size_limit=self.upload_limit(),
            at=self.clock.now(),
            perms=perms,
            type=19 if ref is not None else 0,
            message_reference=ref,
            route="POST /channels/{channel_id}/messages",
        )
        await self.events.created(msg)
        self.on_change()
        return json_response(msg.payload(), headers=headers)

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{c}/messages/{m}``: the bot-token fallback after 15 minutes."""
        channel = self._channel(request)
        mid = snowflake(request, "message_id")
        headers = self.throttle("message_edit", ("message", mid))
        data, files = await read_body(request)
        perms = self.world.bot_permissions(channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise missing_access()
        msg = self._visible(channel, request)
        if msg.author.id != self.world.bot_user.id:
            raise DiscordError(
                403,
                CANNOT_EDIT_OTHER_USERS_MESSAGE,
                "Cannot edit a message authored by another user",
            )
        if files:
            require(perms, Permission.ATTACH_FILES)
        body = parse_message_body(data)
        self.world.edit_message(
            msg,
            body,
            files,
            size_limit=self.upload_limit(),
            at=self.clock.now(),
            perms=perms,
            route="PATCH /channels/{channel_id}/messages/{message_id}",
        )
        await self.events.updated(msg)
        self.on_change()
        return json_response(msg.payload(), headers=headers)

    async def delete_message(self, request: web.Request) -> web.Response:
        """``DELETE /channels/{c}/messages/{m}``: own messages, or anyone's with MANAGE_MESSAGES."""
        channel = self._channel(request)
        perms = self.world.bot_permissions(channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise missing_access()
        msg = self._visible(channel, request)
        if msg.author.id != self.world.bot_user.id and not (
            channel.type != DM_CHANNEL and perms & Permission.MANAGE_MESSAGES
        ):
            raise missing_permissions()
        self.world.delete_message(
            msg,
            at=self.clock.now(),
            route="DELETE /channels/{channel_id}/messages/{message_id}",
        )
        await self.events.deleted(msg)
        self.on_change()
        return no_content()

    async def reaction(self, request: web.Request) -> web.Response:
        """Add/remove own reaction: only checked and recorded, not stored on the message."""
        channel = self._channel(request)
        require(self.world.bot_permissions(channel), Permission.READ_MESSAGE_HISTORY)
        self._visible(channel, request)
        return no_content()
