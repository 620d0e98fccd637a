"""Discord's REST API (the subset discord.py bots use), with Discord's checks and error codes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, hdrs, web

from local_discord.errors import (
    CANNOT_EDIT_OTHER_USERS_MESSAGE,
    INTERACTION_ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNAUTHORIZED,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_INTERACTION,
    UNKNOWN_MEMBER,
    UNKNOWN_USER,
    UNKNOWN_WEBHOOK,
    DiscordError,
    form_error,
    missing_access,
    missing_permissions,
    unknown_message,
)
from local_discord.gateway import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    dumps,
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
    FileSummary,
    InteractionHandle,
)
from local_discord.models import (
    DM_CHANNEL,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    Channel,
    StoredMessage,
)
from local_discord.payloads import JSON, InteractionMetadataPayload, MessagePayload
from local_discord.permissions import Permission
from local_discord.ratelimit import generic_headers
from local_discord.rules import check_autocomplete, check_modal, parse_message_body
from local_discord.state import CREATE_FLAGS, UploadedFile

if TYPE_CHECKING:
    from local_discord.server import LocalDiscord

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_TRUE = ("1", "true", "True")
_BODY: web.RequestKey[Any] = web.RequestKey("ld_json")
_FILES: web.RequestKey[list[FileSummary]] = web.RequestKey("ld_files", list)


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request as Discord saw it (bodies are kept by reference, never copied)."""

    method: str
    route: str | None
    path: str
    query: dict[str, str]
    status: int
    at: float
    wall: float
    duration: float
    json: Any = None
    files: list[FileSummary] = field(default_factory=list)
    error_code: int | None = None
    authorized: bool = False

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """``Content-Type: application/json`` exactly (discord.py compares the header literally)."""
    return web.Response(
        body=dumps(data).encode(), status=status, content_type="application/json", headers=headers
    )


def no_content() -> web.Response:
    """204."""
    return web.Response(status=204)


def _snowflake(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    try:
        return int(raw)
    except ValueError:
        raise form_error(key, "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.') from None


class RestApi:
    """Route handlers bound to one LocalDiscord."""

    def __init__(self, core: LocalDiscord) -> None:
        self.core = core
        self.world = core.world

    # ----------------------------------------------------------------- wiring
    def routes(self, app: web.Application) -> None:
        """Register every route (API routes under ``/api/v10``, CDN under ``/attachments``)."""
        r = app.router
        p = API_PREFIX
        r.add_get(f"{p}/gateway", self.get_gateway)
        r.add_get(f"{p}/gateway/bot", self.get_gateway_bot)
        r.add_get(f"{p}/users/@me", self.get_me)
        r.add_post(f"{p}/users/@me/channels", self.create_dm)
        r.add_get(f"{p}/users/{{user_id}}", self.get_user)
        r.add_get(f"{p}/oauth2/applications/@me", self.get_application)
        r.add_get(f"{p}/applications/@me", self.get_application)
        for scope in ("", "/guilds/{guild_id}"):
            base = f"{p}/applications/{{application_id}}{scope}/commands"
            r.add_get(base, self.list_commands)
            r.add_put(base, self.overwrite_commands)
            r.add_post(base, self.create_command)
            r.add_get(f"{base}/{{command_id}}", self.get_command)
            r.add_patch(f"{base}/{{command_id}}", self.edit_command)
            r.add_delete(f"{base}/{{command_id}}", self.delete_command)
        r.add_post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self.callback)
        wh = f"{p}/webhooks/{{application_id}}/{{token}}"
        r.add_post(wh, self.execute_webhook)
        r.add_get(f"{wh}/messages/{{message_id}}", self.get_webhook_message)
        r.add_patch(f"{wh}/messages/{{message_id}}", self.edit_webhook_message)
        r.add_delete(f"{wh}/messages/{{message_id}}", self.delete_webhook_message)
        ch = f"{p}/channels/{{channel_id}}"
        r.add_get(ch, self.get_channel)
        r.add_post(f"{ch}/typing", self.typing)
        r.add_get(f"{ch}/messages", self.list_messages)
        r.add_post(f"{ch}/messages", self.create_message)
        r.add_get(f"{ch}/messages/{{message_id}}", self.get_message)
        r.add_patch(f"{ch}/messages/{{message_id}}", self.edit_message)
        r.add_delete(f"{ch}/messages/{{message_id}}", self.delete_message)
        react = f"{ch}/messages/{{message_id}}/reactions/{{emoji}}/@me"
        r.add_put(react, self.reaction)
        r.add_delete(react, self.reaction)
        g = f"{p}/guilds/{{guild_id}}"
        r.add_get(g, self.get_guild)
        r.add_get(f"{g}/channels", self.get_guild_channels)
        r.add_get(f"{g}/roles", self.get_guild_roles)
        r.add_get(f"{g}/members/{{user_id}}", self.get_member)
        r.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn)
        r.add_get("/media/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Discord-shaped errors, rate-limit headers on every API answer, and the request log."""
        core = self.core
        start = core.clock.now()
        wall = time.time()
        route: str | None = None
        resource = request.match_info.route.resource
        if resource is not None:
            route = resource.canonical
            if route.startswith(API_PREFIX):
                route = route[len(API_PREFIX) :]
        error_code: int | None = None
        resp: web.StreamResponse
        try:
            resp = await handler(request)
        except DiscordError as exc:
            resp = json_response(exc.body(), exc.status, exc.headers)
            error_code = exc.code
        except web.HTTPException as exc:
            resp = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status)
            error_code = 0
        except Exception as exc:
            # A bug in the fake, not a Discord rule: keep it visible to the tests.
            log.exception("LocalDiscord failed on %s %s", request.method, request.path)
            core.internal_errors.append(f"{request.method} {request.path}: {exc!r}")
            resp = json_response({"message": "500: Internal Server Error", "code": 0}, 500)
            error_code = 0
        if request.path.startswith(API_PREFIX) and not resp.prepared:
            for key, value in generic_headers(route or request.path).items():
                resp.headers.setdefault(key, value)
        if core.record_requests and route != "/gateway":
            summary: list[FileSummary] = request.get(_FILES, [])
            core.requests.append(
                RequestRecord(
                    method=request.method,
                    route=route,
                    path=request.path,
                    query=dict(request.query),
                    status=resp.status,
                    at=start,
                    wall=wall,
                    duration=core.clock.now() - start,
                    json=request.get(_BODY),
                    files=summary,
                    error_code=error_code,
                    authorized=request.headers.get(hdrs.AUTHORIZATION) == f"Bot {core.bot_token}",
                )
            )
            core.changed()
        return resp

    # ---------------------------------------------------------------- helpers
    def _auth(self, request: web.Request) -> None:
        if request.headers.get(hdrs.AUTHORIZATION) != f"Bot {self.core.bot_token}":
            raise DiscordError(401, UNAUTHORIZED, "401: Unauthorized")

    async def _body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON or ``multipart/form-data`` (``payload_json`` + ``files[n]``), recorded for tests."""
        files: list[UploadedFile] = []
        payload: Any = None
        try:
            if request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if not isinstance(part, BodyPartReader):
                        continue
                    # aiohttp re-parses Content-Disposition on every .name/.filename access.
                    name = part.name or ""
                    if name == "payload_json":
                        payload = json.loads(await part.text())
                        continue
                    filename = part.filename
                    if (name.startswith("files[") and name.endswith("]")) or filename:
                        try:
                            index = int(name[6:-1])
                        except ValueError:
                            index = len(files)
                        data = bytes(await part.read())
                        files.append(
                            UploadedFile(
                                index=index,
                                filename=filename or f"file{index}",
                                content_type=part.headers.get(hdrs.CONTENT_TYPE),
                                data=data,
                            )
                        )
            elif request.can_read_body:
                raw = await request.read()
                payload = json.loads(raw) if raw else None
        except ValueError:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
        request[_BODY] = payload
        request[_FILES] = [
            FileSummary(f"files[{f.index}]", f.filename, len(f.data), f.content_type) for f in files
        ]
        return payload, files

    def _channel(self, request: web.Request) -> Channel:
        channel = self.world.channels.get(_snowflake(request, "channel_id"))
        if channel is None:
            raise DiscordError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return channel

    def _bot_perms(self, channel: Channel) -> int:
        return self.world.permissions(channel, self.world.bot_user.id)

    def _require(self, perms: int, needed: Permission) -> None:
        if not perms & Permission.VIEW_CHANNEL:
            raise missing_access()
        if perms & needed != needed:
            raise missing_permissions()

    def _ratelimit(self, kind: str, key: Any) -> dict[str, str]:
        rule = getattr(self.core.limits, kind)
        if rule is None:
            return {}
        return self.core.limiter.check(kind, rule, key)

    async def _emit(self, event: str, msg: StoredMessage) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE for non-ephemeral messages, gated by intents.

        Also wakes whoever waits on the interaction that created the message (a bot-token edit
        of an interaction response changes that interaction's ``original``).
        """
        core = self.core
        if msg.interaction_id is not None:
            owner = self.world.interactions.get(msg.interaction_id)
            if owner is not None:
                owner.changed()
        if msg.ephemeral or not core.dispatch_message_events:
            return
        data = self.world.gateway_message(msg)
        redacted: MessagePayload | None = None
        if msg.author.id != self.world.bot_user.id:
            redacted = data.copy()
            redacted["content"] = ""
            redacted["embeds"] = []
            redacted["attachments"] = []
            redacted["components"] = []
        intent = INTENT_DIRECT_MESSAGES if msg.guild_id is None else INTENT_GUILD_MESSAGES
        await core.gateway.dispatch(
            event, data, guild_id=msg.guild_id, intent=intent, redacted=redacted
        )

    async def _emit_delete(self, msg: StoredMessage) -> None:
        if msg.interaction_id is not None:
            owner = self.world.interactions.get(msg.interaction_id)
            if owner is not None:
                owner.changed()
        if msg.ephemeral or not self.core.dispatch_message_events:
            return
        data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
        intent = INTENT_DIRECT_MESSAGES if msg.guild_id is None else INTENT_GUILD_MESSAGES
        await self.core.gateway.dispatch(
            "MESSAGE_DELETE", data, guild_id=msg.guild_id, intent=intent
        )

    # ------------------------------------------------------------ login, app
    async def get_gateway(self, request: web.Request) -> web.Response:
        """``GET /gateway``."""
        return json_response({"url": self.core.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """``GET /gateway/bot`` (AutoShardedClient asks for the shard count here)."""
        self._auth(request)
        return json_response(
            {
                "url": self.core.gateway_url,
                "shards": self.core.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.core.gateway.identifies,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, request: web.Request) -> web.Response:
        """``GET /users/@me``: how discord.py logs in."""
        self._auth(request)
        user = dict(self.world.bot_user.payload())
        user.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
        return json_response(user)

    async def get_user(self, request: web.Request) -> web.Response:
        """``GET /users/{id}``."""
        self._auth(request)
        user = self.world.users.get(_snowflake(request, "user_id"))
        if user is None:
            raise DiscordError(404, UNKNOWN_USER, "Unknown User")
        return json_response(user.payload())

    async def create_dm(self, request: web.Request) -> web.Response:
        """``POST /users/@me/channels``: open (or reuse) the DM with a user."""
        self._auth(request)
        body, _ = await self._body(request)
        rid = body.get("recipient_id") if isinstance(body, dict) else None
        try:
            user = self.world.users.get(int(rid)) if rid is not None else None
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise DiscordError(404, UNKNOWN_USER, "Unknown User")
        return json_response(self.world.dm_channel(user).payload())

    async def get_application(self, request: web.Request) -> web.Response:
        """``GET /oauth2/applications/@me``: discord.py reads it right after login."""
        self._auth(request)
        world = self.world
        owner = world.app_owner or world.bot_user
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner.payload(),
                "team": None,
                "flags": 0,
                "rpc_origins": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
                "approximate_guild_count": sum(
                    1 for g in world.guilds.values() if world.bot_user.id in g.members
                ),
                "integration_types_config": {"0": {}},
                "bot": world.bot_user.payload(),
            }
        )

    # --------------------------------------------------------------- commands
    def _command_scope(self, request: web.Request) -> int | None:
        self._auth(request)
        if _snowflake(request, "application_id") != self.world.application_id:
            raise DiscordError(404, 10002, "Unknown Application")
        if "guild_id" not in request.match_info:
            return None
        gid = _snowflake(request, "guild_id")
        guild = self.world.guilds.get(gid)
        if guild is None or self.world.bot_user.id not in guild.members:
            raise missing_access()
        return gid

    async def list_commands(self, request: web.Request) -> web.Response:
        """``GET .../commands``."""
        scope = self._command_scope(request)
        return json_response(list(self.world.commands.get(scope, {}).values()))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        """``PUT .../commands``: what ``tree.sync()`` sends."""
        scope = self._command_scope(request)
        body, _ = await self._body(request)
        stored = self.world.overwrite_commands(scope, body)
        self.core.changed()
        return json_response(stored)

    async def create_command(self, request: web.Request) -> web.Response:
        """``POST .../commands``: upsert one command."""
        scope = self._command_scope(request)
        body, _ = await self._body(request)
        stored = self.world.upsert_command(scope, body)
        self.core.changed()
        return json_response(stored)

    async def get_command(self, request: web.Request) -> web.Response:
        """``GET .../commands/{id}``."""
        scope = self._command_scope(request)
        return json_response(self.world.command(scope, _snowflake(request, "command_id")))

    async def edit_command(self, request: web.Request) -> web.Response:
        """``PATCH .../commands/{id}``."""
        scope = self._command_scope(request)
        existing = self.world.command(scope, _snowflake(request, "command_id"))
        body, _ = await self._body(request)
        merged = {**existing, **(body if isinstance(body, dict) else {})}
        stored = self.world.upsert_command(scope, merged)
        self.core.changed()
        return json_response(stored)

    async def delete_command(self, request: web.Request) -> web.Response:
        """``DELETE .../commands/{id}``."""
        scope = self._command_scope(request)
        cid = _snowflake(request, "command_id")
        self.world.command(scope, cid)
        del self.world.commands[scope][cid]
        self.core.changed()
        return no_content()

    # ------------------------------------------------------------ interactions
    def _message_type(self, handle: InteractionHandle) -> int:
        if handle.type == APPLICATION_COMMAND:
            data = handle.payload.get("data") or {}
            return 20 if int(data.get("type", 1)) == 1 else 23
        if handle.source_message is not None:
            return 19
        return 20

    def _metadata(
        self, handle: InteractionHandle, *, original: StoredMessage | None = None
    ) -> InteractionMetadataPayload:
        md: InteractionMetadataPayload = {
            "id": str(handle.id),
            "type": handle.type,
            "user": handle.user.payload(),
            "authorizing_integration_owners": handle.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        data = handle.payload.get("data") or {}
        if handle.type == APPLICATION_COMMAND:
            md["name"] = str(data.get("name", ""))
            md["command_type"] = int(data.get("type", 1))
            if "target_id" in data:
                md["target_message_id"] = str(data["target_id"])
        if handle.source_message is not None:
            md["interacted_message_id"] = str(handle.source_message.id)
        if original is not None:
            md["original_response_message_id"] = str(original.id)
        return md

    def _reference(self, handle: InteractionHandle) -> JSON | None:
        src = handle.source_message
        if src is None:
            return None
        ref: JSON = {"type": 0, "message_id": str(src.id), "channel_id": str(src.channel_id)}
        if src.guild_id is not None:
            ref["guild_id"] = str(src.guild_id)
        return ref

    def _new_response_message(
        self,
        handle: InteractionHandle,
        data: Any,
        files: list[UploadedFile],
        *,
        loading: bool,
        route: str,
        followup_of: StoredMessage | None = None,
    ) -> StoredMessage:
        world = self.world
        channel = world.channels[handle.channel_id]
        body = parse_message_body(data)
        extra = FLAG_LOADING if loading else 0
        return world.create_message(
            channel=channel,
            author=world.bot_user,
            body=body,
            files=files,
            size_limit=handle.attachment_size_limit,
            at=self.core.clock.now(),
            perms=self._bot_perms(channel),
            type=self._message_type(handle),
            extra_flags=extra,
            allow_flags=CREATE_FLAGS | FLAG_EPHEMERAL,
            webhook_id=world.application_id,
            interaction=handle,
            interaction_metadata=self._metadata(handle, original=followup_of),
            message_reference=self._reference(handle) if followup_of is None else None,
            route=route,
            allow_empty=loading,
        )

    async def callback(self, request: web.Request) -> web.Response:
        """``POST /interactions/{id}/{token}/callback``: the one initial response."""
        core = self.core
        body, files = await self._body(request)
        now = core.clock.now()
        iid = _snowflake(request, "interaction_id")
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
            files=request[_FILES],
        )
        try:
            result = await self._respond(handle, ctype, data, files, now)
        except DiscordError as exc:
            record.status = exc.status
            record.error_code = exc.code
            handle.callbacks.append(record)
            handle.changed()
            raise
        handle.callbacks.append(record)
        handle.changed()
        core.changed()
        if request.query.get("with_response") not in _TRUE:
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
        allowed: dict[int, tuple[int, ...]] = {
            APPLICATION_COMMAND: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL),
            MESSAGE_COMPONENT: (
                CHANNEL_MESSAGE,
                DEFERRED_CHANNEL_MESSAGE,
                DEFERRED_UPDATE_MESSAGE,
                UPDATE_MESSAGE,
                MODAL,
            ),
            AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
            MODAL_SUBMIT: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE)
            + ((DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE) if src is not None else ()),
        }
        if not isinstance(ctype, int) or ctype not in allowed.get(itype, ()):
            raise form_error(
                "type",
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {ctype!r} is not valid for interaction type {itype}",
            )
        route = "POST /interactions/{interaction_id}/{token}/callback"
        result: StoredMessage | None = None
        if ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            loading = ctype == DEFERRED_CHANNEL_MESSAGE
            if loading:
                # A defer decides only visibility: keep just the EPHEMERAL bit (type-checked).
                flags = parse_message_body(data).flags
                data = {"flags": flags & FLAG_EPHEMERAL}
            result = self._new_response_message(handle, data, files, loading=loading, route=route)
            handle.original = result
            handle.response_type = ctype
            await self._emit("MESSAGE_CREATE", result)
        elif ctype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            assert src is not None
            if ctype == UPDATE_MESSAGE:
                body = parse_message_body(data)
                channel = self.world.channels[src.channel_id]
                self.world.edit_message(
                    src,
                    body,
                    files,
                    size_limit=handle.attachment_size_limit,
                    at=now,
                    perms=self._bot_perms(channel),
                    route=route,
                )
            handle.original = src
            handle.response_type = ctype
            result = src
            if ctype == UPDATE_MESSAGE:
                await self._emit("MESSAGE_UPDATE", src)
        elif ctype == AUTOCOMPLETE_RESULT:
            check_autocomplete(data)
            handle.autocomplete_choices = list(data["choices"])
            handle.response_type = ctype
        elif ctype == MODAL:
            check_modal(data)
            handle.modal = data
            handle.response_type = ctype
        return result

    # ---------------------------------------------------------------- webhooks
    def _webhook_handle(self, request: web.Request) -> InteractionHandle:
        """Interaction webhooks: the token must exist, be acknowledged and be < 15 minutes old."""
        if _snowflake(request, "application_id") != self.world.application_id:
            raise DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        handle = self.world.interactions_by_token.get(request.match_info["token"])
        if handle is None:
            raise DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if self.core.clock.now() > handle.token_expires_at:
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
        headers = self._ratelimit("message_create", ("webhook", token))
        data, files = await self._body(request)
        route = "POST /webhooks/{application_id}/{token}"
        original = handle.original
        if original is not None and original.loading and not original.deleted:
            # Documented (and deprecated): the first follow-up after a thinking defer replaces the
            # "Bot is thinking…" message, keeping the defer's ephemeral flag.
            body = parse_message_body(data)
            channel = self.world.channels[original.channel_id]
            self.world.edit_message(
                original,
                body,
                files,
                size_limit=handle.attachment_size_limit,
                at=self.core.clock.now(),
                perms=self._bot_perms(channel),
                route=route,
            )
            msg = original
            handle.followups.append(msg)
            await self._emit("MESSAGE_UPDATE", msg)
        else:
            msg = self._new_response_message(
                handle, data, files, loading=False, route=route, followup_of=original or None
            )
            handle.followups.append(msg)
            await self._emit("MESSAGE_CREATE", msg)
        handle.changed()
        self.core.changed()
        if request.query.get("wait") in _TRUE:
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
        headers = self._ratelimit("message_edit", ("webhook", request.match_info["token"]))
        data, files = await self._body(request)
        msg = self._webhook_message(handle, request.match_info["message_id"])
        body = parse_message_body(data)
        channel = self.world.channels[msg.channel_id]
        self.world.edit_message(
            msg,
            body,
            files,
            size_limit=handle.attachment_size_limit,
            at=self.core.clock.now(),
            perms=self._bot_perms(channel),
            route="PATCH /webhooks/{application_id}/{token}/messages/{message_id}",
        )
        await self._emit("MESSAGE_UPDATE", msg)
        handle.changed()
        self.core.changed()
        return json_response(msg.payload(), headers=headers)

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/{app}/{token}/messages/{id|@original}``."""
        handle = self._webhook_handle(request)
        msg = self._webhook_message(handle, request.match_info["message_id"])
        self.world.delete_message(
            msg,
            at=self.core.clock.now(),
            route="DELETE /webhooks/{application_id}/{token}/messages/{message_id}",
        )
        await self._emit_delete(msg)
        handle.changed()
        self.core.changed()
        return no_content()

    # ---------------------------------------------------------------- channels
    async def get_channel(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}``."""
        self._auth(request)
        channel = self._channel(request)
        if channel.guild_id is not None and not self._bot_perms(channel) & Permission.VIEW_CHANNEL:
            raise missing_access()
        return json_response(channel.payload())

    async def typing(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/typing``."""
        self._auth(request)
        self._require(self._bot_perms(self._channel(request)), Permission.SEND_MESSAGES)
        return no_content()

    async def list_messages(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages``: newest first, with before/after/around/limit."""
        self._auth(request)
        channel = self._channel(request)
        self._require(self._bot_perms(channel), Permission.READ_MESSAGE_HISTORY)
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
            picked.reverse()
        elif after is not None:
            picked = [m for m in live if m.id > after][:limit]
            picked.reverse()
        else:
            if before is not None:
                live = [m for m in live if m.id < before]
            picked = live[-limit:]
            picked.reverse()
        return json_response([m.payload() for m in picked])

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /channels/{c}/messages/{m}``."""
        self._auth(request)
        channel = self._channel(request)
        self._require(self._bot_perms(channel), Permission.READ_MESSAGE_HISTORY)
        msg = self.world.visible_message(channel.id, _snowflake(request, "message_id"))
        if msg is None:
            raise unknown_message()
        return json_response(msg.payload())

    async def create_message(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/messages``: VIEW + SEND (+ ATTACH_FILES, EMBED_LINKS)."""
        self._auth(request)
        channel = self._channel(request)
        headers = self._ratelimit("message_create", ("channel", channel.id))
        data, files = await self._body(request)
        body = parse_message_body(data)
        perms = self._bot_perms(channel)
        needed = Permission.SEND_MESSAGES
        if files:
            needed |= Permission.ATTACH_FILES
        if body.embeds:
            needed |= Permission.EMBED_LINKS
        self._require(perms, needed)
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
            size_limit=self.core.channel_upload_limit,
            at=self.core.clock.now(),
            perms=perms,
            type=19 if ref is not None else 0,
            message_reference=ref,
            route="POST /channels/{channel_id}/messages",
        )
        await self._emit("MESSAGE_CREATE", msg)
        self.core.changed()
        return json_response(msg.payload(), headers=headers)

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{c}/messages/{m}``: the bot-token fallback after 15 minutes."""
        self._auth(request)
        channel = self._channel(request)
        mid = _snowflake(request, "message_id")
        headers = self._ratelimit("message_edit", ("message", mid))
        data, files = await self._body(request)
        perms = self._bot_perms(channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise missing_access()
        msg = self.world.visible_message(channel.id, mid)
        if msg is None:
            raise unknown_message()
        if msg.author.id != self.world.bot_user.id:
            raise DiscordError(
                403,
                CANNOT_EDIT_OTHER_USERS_MESSAGE,
                "Cannot edit a message authored by another user",
            )
        if files:
            self._require(perms, Permission.ATTACH_FILES)
        body = parse_message_body(data)
        self.world.edit_message(
            msg,
            body,
            files,
            size_limit=self.core.channel_upload_limit,
            at=self.core.clock.now(),
            perms=perms,
            route="PATCH /channels/{channel_id}/messages/{message_id}",
        )
        await self._emit("MESSAGE_UPDATE", msg)
        self.core.changed()
        return json_response(msg.payload(), headers=headers)

    async def delete_message(self, request: web.Request) -> web.Response:
        """``DELETE /channels/{c}/messages/{m}``: own messages, or anyone's with MANAGE_MESSAGES."""
        self._auth(request)
        channel = self._channel(request)
        perms = self._bot_perms(channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise missing_access()
        msg = self.world.visible_message(channel.id, _snowflake(request, "message_id"))
        if msg is None:
            raise unknown_message()
        if msg.author.id != self.world.bot_user.id and not (
            channel.type != DM_CHANNEL and perms & Permission.MANAGE_MESSAGES
        ):
            raise missing_permissions()
        self.world.delete_message(
            msg,
            at=self.core.clock.now(),
            route="DELETE /channels/{channel_id}/messages/{message_id}",
        )
        await self._emit_delete(msg)
        self.core.changed()
        return no_content()

    async def reaction(self, request: web.Request) -> web.Response:
        """Add/remove own reaction: only checked and recorded, not stored on the message."""
        self._auth(request)
        channel = self._channel(request)
        self._require(self._bot_perms(channel), Permission.READ_MESSAGE_HISTORY)
        if self.world.visible_message(channel.id, _snowflake(request, "message_id")) is None:
            raise unknown_message()
        return no_content()

    # ------------------------------------------------------------------ guilds
    def _guild(self, request: web.Request) -> Any:
        self._auth(request)
        guild = self.world.guilds.get(_snowflake(request, "guild_id"))
        if guild is None or self.world.bot_user.id not in guild.members:
            raise DiscordError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}`` (REST omits channels and members, like Discord)."""
        guild = self._guild(request)
        data = guild.payload()
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            data.pop(key, None)
        return json_response(data)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}/channels``."""
        guild = self._guild(request)
        return json_response([c.payload() for c in guild.channels.values()])

    async def get_guild_roles(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}/roles``."""
        guild = self._guild(request)
        return json_response([r.payload() for r in guild.roles.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        """``GET /guilds/{g}/members/{u}``."""
        guild = self._guild(request)
        member = guild.members.get(_snowflake(request, "user_id"))
        if member is None:
            raise DiscordError(404, UNKNOWN_MEMBER, "Unknown Member")
        return json_response(member.payload())

    # --------------------------------------------------------------------- CDN
    async def cdn(self, request: web.Request) -> web.Response:
        """The bytes behind an attachment URL (404 once expired, as Discord's CDN does)."""
        att = self.world.attachments.get(_snowflake(request, "attachment_id"))
        if (
            att is None
            or att.expired
            or str(att.channel_id) != request.match_info["channel_id"]
            or (att.size and not att.data)
        ):
            return web.Response(status=404, text="This content is no longer available.")
        return web.Response(
            body=att.data, content_type=att.content_type or "application/octet-stream"
        )
