"""Answering interactions: the one initial callback, then follow-ups and edits by webhook token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from aiohttp import web

from local_discord.clock import Clock
from local_discord.errors import (
    INTERACTION_ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_WEBHOOK,
    DiscordError,
    form_error,
    unknown_message,
)
from local_discord.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    UPDATE_MESSAGE,
    CallbackRecord,
    InteractionHandle,
)
from local_discord.models import FLAG_EPHEMERAL, FLAG_LOADING, StoredMessage
from local_discord.payloads import JSON, InteractionMetadataPayload
from local_discord.ratelimit import Throttle
from local_discord.rest.events import MessageEvents
from local_discord.rest.http import (
    API_PREFIX,
    TRUE,
    json_response,
    no_content,
    read_body,
    snowflake,
    uploaded,
)
from local_discord.rules import MessageBody, check_autocomplete, check_modal, parse_message_body
from local_discord.state import CREATE_FLAGS, UploadedFile, World

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InteractionResponses:
    """``/interactions/{id}/{token}/callback`` and ``/webhooks/{application_id}/{token}/...``.

    Neither takes the bot token: the interaction token is the credential, valid for the callback
    until the ack deadline and for the webhook until it expires.
    """

    world: World
    clock: Clock
    throttle: Throttle
    events: MessageEvents
    _: KW_ONLY
    on_change: Callable[[], None]
    #: Told of every initial callback, accepted or refused (the feed).
    on_callback: Callable[[InteractionHandle, CallbackRecord], None] = lambda handle, record: None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register this resource's routes."""
        p = API_PREFIX
        router.add_post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self.callback)
        wh = f"{p}/webhooks/{{application_id}}/{{token}}"
        router.add_post(wh, self.execute_webhook)
        router.add_get(f"{wh}/messages/{{message_id}}", self.get_webhook_message)
        router.add_patch(f"{wh}/messages/{{message_id}}", self.edit_webhook_message)
        router.add_delete(f"{wh}/messages/{{message_id}}", self.delete_webhook_message)

    def _new_response_message(
        self,
        handle: InteractionHandle,
        body: MessageBody,
        files: list[UploadedFile],
        *,
        loading: bool,
        route: str,
        followup_of: StoredMessage | None = None,
    ) -> StoredMessage:
        world = self.world
        channel = world.channels[handle.channel_id]
        extra = FLAG_LOADING if loading else 0
        return world.create_message(
            channel=channel,
            author=world.bot_user,
            body=body,
            files=files,
            size_limit=handle.attachment_size_limit,
            at=self.clock.now(),
            perms=lambda: world.bot_permissions(channel),
            type=_message_type(handle),
            extra_flags=extra,
            allow_flags=CREATE_FLAGS | FLAG_EPHEMERAL,
            webhook_id=world.application_id,
            interaction=handle,
            interaction_metadata=_metadata(handle, original=followup_of),
            message_reference=_reference(handle) if followup_of is None else None,
            route=route,
            allow_empty=loading,
        )

    def _edit_response(
        self,
        handle: InteractionHandle,
        msg: StoredMessage,
        data: Any,
        files: list[UploadedFile],
        *,
        at: float,
        route: str,
    ) -> None:
        """Edit a message of ``handle`` with its upload limit and the bot's permissions."""
        body = parse_message_body(data)
        world = self.world
        channel = world.channels[msg.channel_id]
        world.edit_message(
            msg,
            body,
            files,
            size_limit=handle.attachment_size_limit,
            at=at,
            perms=lambda: world.bot_permissions(channel),
            route=route,
        )

    async def callback(self, request: web.Request) -> web.Response:
        """``POST /interactions/{id}/{token}/callback``: the one initial response."""
        body, files = await read_body(request)
        now = self.clock.now()
        iid = snowflake(request, "interaction_id")
        handle = self.world.interactions.get(iid)
        if handle is None or handle.token != request.match_info["token"]:
            raise DiscordError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        ctype = body.get("type") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        record = CallbackRecord(
            type=ctype if isinstance(ctype, int) else None,
            data=data if isinstance(data, dict) else None,
            at=now,
            latency=now - (handle.dispatched_at or now),
            files=uploaded(request),
        )
        try:
            result = await self._respond(handle, ctype, data, files, now)
        except DiscordError as exc:
            record.status = exc.status
            record.error_code = exc.code
            handle.callbacks.append(record)
            handle.changed()
            self.on_callback(handle, record)
            raise
        handle.callbacks.append(record)
        handle.changed()
        self.on_change()
        self.on_callback(handle, record)
        if self.world.callback_answer_delay:  # Discord acted on it; its answer is slow to come
            await asyncio.sleep(self.world.callback_answer_delay)
        if request.query.get("with_response") not in TRUE:
            return no_content()
        interaction: JSON = {"id": str(handle.id), "type": handle.type}
        out: JSON = {"interaction": interaction}
        if result is not None:
            interaction["response_message_id"] = str(result.id)
            interaction["response_message_loading"] = ctype == DEFERRED_CHANNEL_MESSAGE
            interaction["response_message_ephemeral"] = result.ephemeral
            if ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE):
                out["resource"] = {"type": ctype, "message": result.payload()}
        return json_response(out)

    async def _respond(
        self,
        handle: InteractionHandle,
        ctype: Any,
        data: Any,
        files: list[UploadedFile],
        now: float,
    ) -> StoredMessage | None:
        if handle.response_type is not None:
            raise DiscordError(
                400, INTERACTION_ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
            )
        if now > handle.ack_deadline_at:
            raise DiscordError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        itype = handle.type
        src = handle.source_message
        allowed = _ALLOWED_CALLBACKS.get(itype, ())
        if itype == MODAL_SUBMIT and src is not None:
            allowed += (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE)
        if not isinstance(ctype, int) or ctype not in allowed:
            raise form_error(
                "type",
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {ctype!r} is not valid for interaction type {itype}",
            )
        route = "POST /interactions/{interaction_id}/{token}/callback"
        result: StoredMessage | None = None
        if ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            loading = ctype == DEFERRED_CHANNEL_MESSAGE
            body = parse_message_body(data)
            if loading:
                # A defer decides only visibility: keep just the EPHEMERAL bit (type-checked).
                body = MessageBody(present=frozenset(("flags",)), flags=body.flags & FLAG_EPHEMERAL)
            result = self._new_response_message(handle, body, files, loading=loading, route=route)
            handle.original = result
            handle.response_type = ctype
            await self.events.created(result)
        elif ctype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            assert src is not None
            if ctype == UPDATE_MESSAGE:
                self._edit_response(handle, src, data, files, at=now, route=route)
            handle.original = src
            handle.response_type = ctype
            result = src
            if ctype == UPDATE_MESSAGE:
                await self.events.updated(src)
        elif ctype == AUTOCOMPLETE_RESULT:
            check_autocomplete(data)
            handle.autocomplete_choices = list(data["choices"])
            handle.response_type = ctype
        elif ctype == MODAL:
            check_modal(data)
            handle.modal = data
            handle.response_type = ctype
        return result

    def _webhook_handle(self, request: web.Request) -> InteractionHandle:
        """Interaction webhooks: the token must exist, be acknowledged and be < 15 minutes old."""
        if snowflake(request, "application_id") != self.world.application_id:
            raise DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        handle = self.world.interactions_by_token.get(request.match_info["token"])
        if handle is None:
            raise DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if self.clock.now() > handle.token_expires_at:
            raise DiscordError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if handle.response_type is None:
            raise DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        return handle

    def _webhook_message(self, handle: InteractionHandle, raw_id: str) -> StoredMessage:
        if raw_id == "@original":
            msg = handle.original
        else:
            try:
                mid = int(raw_id)
            except ValueError:
                raise unknown_message() from None
            msg = next((m for m in handle.messages if m.id == mid), None)
        if msg is None or msg.deleted:
            raise unknown_message()
        return msg

    async def execute_webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/{app}/{token}``: a follow-up (``?wait=true`` returns the message)."""
        handle = self._webhook_handle(request)
        token = request.match_info["token"]
        headers = self.throttle("message_create", ("webhook", token))
        data, files = await read_body(request)
        route = "POST /webhooks/{application_id}/{token}"
        original = handle.original
        if original is not None and original.loading and not original.deleted:
            # Documented (and deprecated): the first follow-up after a thinking defer replaces the
            # "Bot is thinking…" message, keeping the defer's ephemeral flag.
            self._edit_response(handle, original, data, files, at=self.clock.now(), route=route)
            msg = original
            handle.followups.append(msg)
            await self.events.updated(msg)
        else:
            msg = self._new_response_message(
                handle,
                parse_message_body(data),
                files,
                loading=False,
                route=route,
                followup_of=original or None,
            )
            handle.followups.append(msg)
            await self.events.created(msg)
        handle.changed()
        self.on_change()
        if request.query.get("wait") in TRUE:
            return json_response(msg.payload(), headers=headers)
        return web.Response(status=204, headers=headers)

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        """``GET /webhooks/{app}/{token}/messages/{id|@original}``."""
        handle = self._webhook_handle(request)
        return json_response(
            self._webhook_message(handle, request.match_info["message_id"]).payload()
        )

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        """``PATCH /webhooks/{app}/{token}/messages/{id|@original}``: progress edits land here."""
        handle = self._webhook_handle(request)
        headers = self.throttle("message_edit", ("webhook", request.match_info["token"]))
        data, files = await read_body(request)
        msg = self._webhook_message(handle, request.match_info["message_id"])
        self._edit_response(
            handle,
            msg,
            data,
            files,
            at=self.clock.now(),
            route="PATCH /webhooks/{application_id}/{token}/messages/{message_id}",
        )
        await self.events.updated(msg)
        handle.changed()
        self.on_change()
        return json_response(msg.payload(), headers=headers)

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/{app}/{token}/messages/{id|@original}``."""
        handle = self._webhook_handle(request)
        msg = self._webhook_message(handle, request.match_info["message_id"])
        self.world.delete_message(
            msg,
            at=self.clock.now(),
            route="DELETE /webhooks/{application_id}/{token}/messages/{message_id}",
        )
        await self.events.deleted(msg)
        handle.changed()
        self.on_change()
        return no_content()


#: The callback types each interaction type may answer with (a modal submitted from a
#: component's message may also update that message).
_ALLOWED_CALLBACKS: dict[int, tuple[int, ...]] = {
    APPLICATION_COMMAND: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL),
    MESSAGE_COMPONENT: (
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    ),
    AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
    MODAL_SUBMIT: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE),
}


def _message_type(handle: InteractionHandle) -> int:
    """20 for a slash command's reply, 23 for a context menu's, 19 for a component's."""
    if handle.type == APPLICATION_COMMAND:
        data = handle.payload.get("data") or {}
        return 20 if int(data.get("type", 1)) == 1 else 23
    if handle.source_message is not None:
        return 19
    return 20


def _metadata(
    handle: InteractionHandle, *, original: StoredMessage | None = None
) -> InteractionMetadataPayload:
    """The ``interaction_metadata`` a response message carries."""
    md: InteractionMetadataPayload = {
        "id": str(handle.id),
        "type": handle.type,
        "user": handle.user.payload(),
        "authorizing_integration_owners": handle.payload.get("authorizing_integration_owners", {}),
    }
    data = handle.payload.get("data") or {}
    if handle.type == APPLICATION_COMMAND:
        md["name"] = str(data.get("name", ""))
        md["command_type"] = int(data.get("type", 1))
        if "target_id" in data:
            md["target_message_id"] = str(data["target_id"])
    if handle.source_message is not None:
        md["interacted_message_id"] = str(handle.source_message.id)
    if handle.type == MODAL_SUBMIT and handle.parent is not None:
        md["triggering_interaction_metadata"] = _metadata(handle.parent)
    if original is not None:
        md["original_response_message_id"] = str(original.id)
    return md


def _reference(handle: InteractionHandle) -> JSON | None:
    """A reply to the message whose component was used."""
    src = handle.source_message
    if src is None:
        return None
    ref: JSON = {"type": 0, "message_id": str(src.id), "channel_id": str(src.channel_id)}
    if src.guild_id is not None:
        ref["guild_id"] = str(src.guild_id)
    return ref
