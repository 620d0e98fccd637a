"""``LocalDiscord``: the server plus the driver API tests use to play users and inspect traffic."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

from aiohttp import web

from local_discord import client_view
from local_discord.clock import Clock
from local_discord.feed import (
    CommandsChanged,
    Feed,
    InteractionAnswered,
    InteractionDispatched,
    MessageChanged,
    RequestHandled,
)
from local_discord.gateway import (
    INTENT_GUILD_MEMBERS,
    INTENT_GUILDS,
    INVALID_SESSION,
    RECONNECT,
    Gateway,
    GatewaySession,
    NoBotConnected,
)
from local_discord.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    CallbackRecord,
    InteractionHandle,
)
from local_discord.models import (
    COMMAND_PERMISSION_CHANNEL,
    COMMAND_PERMISSION_ROLE,
    COMMAND_PERMISSION_USER,
    TEXT_CHANNEL,
    Channel,
    CommandPermission,
    Guild,
    Member,
    Role,
    StoredAttachment,
    StoredMessage,
    User,
)
from local_discord.payloads import JSON
from local_discord.permissions import (
    DEFAULT_BOT_ROLE,
    PermissionLike,
    to_bits,
)
from local_discord.ratelimit import Limits, RateLimiter, Throttle
from local_discord.rest.cdn import CdnRoutes
from local_discord.rest.channels import ChannelRoutes
from local_discord.rest.commands import CommandRoutes
from local_discord.rest.events import ChangeKind, MessageEvents
from local_discord.rest.guilds import GuildRoutes
from local_discord.rest.http import BotAuth, RequestLog, RequestRecord
from local_discord.rest.identity import IdentityRoutes
from local_discord.rest.responses import InteractionResponses
from local_discord.rules import DEFAULT_UPLOAD_LIMIT, MessageBody
from local_discord.snowflake import shard_of
from local_discord.state import UploadedFile, World
from local_discord.waiting import Waitable

log = logging.getLogger(__name__)

T = TypeVar("T")
LISTEN_BACKLOG = 2048  # pending connections the REST side accepts (the kernel caps it at somaxconn)

#: A simulated upload: ``(filename, data)`` or ``(filename, data, content_type)``.
Upload = tuple[str, bytes] | tuple[str, bytes, str]
UserRef = User | Member | int | str
ChannelRef = Channel | int | str | None
MessageRef = StoredMessage | int
#: Whose overwrite: a role (``"@everyone"`` by name too), a member or a user (by name too).
OverwriteTarget = Role | Member | User | str

_OPTION_STRING, _OPTION_INTEGER, _OPTION_BOOLEAN = 3, 4, 5
_OPTION_USER, _OPTION_CHANNEL, _OPTION_ROLE, _OPTION_MENTIONABLE = 6, 7, 8, 9
_OPTION_NUMBER, _OPTION_ATTACHMENT = 10, 11
_SUBCOMMAND, _SUBCOMMAND_GROUP = 1, 2


def _make_token(bot_id: int) -> str:
    """Shaped like a real bot token (``base64(id).timestamp.hmac``)."""
    head = base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"


def _upload(item: Upload | UploadedFile, index: int) -> UploadedFile:
    if isinstance(item, UploadedFile):
        return item
    if len(item) == 3:
        filename, data, ctype = item
        return UploadedFile(index, filename, ctype, data)
    filename, data = item[0], item[1]
    return UploadedFile(index, filename, None, data)


def _subcommand(
    cmd: JSON, name: str, subcommand: str | None
) -> tuple[list[JSON], Callable[[list[JSON]], list[JSON]]]:
    """The option definitions of ``subcommand`` (``"sub"`` or ``"group sub"``), and a wrapper.

    The wrapper nests filled options inside the subcommand (and group) as the client sends them.
    """
    defs: list[JSON] = cmd.get("options") or []
    wrappers: list[tuple[int, str]] = []
    for part in (subcommand or "").split():
        found = next(
            (
                o
                for o in defs
                if o.get("name") == part and o.get("type") in (_SUBCOMMAND, _SUBCOMMAND_GROUP)
            ),
            None,
        )
        if found is None:
            raise LookupError(f"/{name} has no subcommand {part!r}")
        wrappers.append((int(found["type"]), part))
        defs = found.get("options") or []

    def wrap(built: list[JSON]) -> list[JSON]:
        for wtype, wname in reversed(wrappers):
            built = [{"type": wtype, "name": wname, "options": built}]
        return built

    return defs, wrap


def _command_data(cmd: JSON, name: str, ctype: int, **fields: Any) -> JSON:
    """The ``data`` of an application-command interaction invoking the stored ``cmd``."""
    data: JSON = {"id": cmd["id"], "name": name, "type": ctype, **fields}
    if "guild_id" in cmd:
        data["guild_id"] = cmd["guild_id"]
    return data


class WorldKnob(Generic[T]):
    """A test knob kept in the server's ``world``: reading or setting it reads or sets it there."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, server: None, owner: type) -> Self: ...

    @overload
    def __get__(self, server: LocalDiscord, owner: type) -> T: ...

    def __get__(self, server: LocalDiscord | None, owner: type) -> T | Self:
        if server is None:
            return self
        value: T = getattr(server.world, self._name)
        return value

    def __set__(self, server: LocalDiscord, value: T) -> None:
        setattr(server.world, self._name, value)


class LocalDiscord(Waitable):
    """A fake Discord (REST + gateway + CDN) on 127.0.0.1 for an unmodified discord.py bot.

    Out of the box it has one guild "Test Server" (owner ``owner``, members ``alice`` and the bot,
    which has a managed role), a ``#general`` text channel, and the bot application whose owner is
    ``owner``. Point the bot at it with ``use_discord_endpoints(ld.api_base, ld.gateway_url)`` and
    log in with ``ld.bot_token``.

    Sharding works as on Discord: ``GET /gateway/bot`` recommends ``shards`` (settable later as
    ``recommended_shards``), each IDENTIFY names its ``[shard_id, num_shards]``, and a guild, its
    events and its interactions go to the session with ``shard_id == (guild_id >> 22) %
    num_shards`` (DMs to shard 0). ``create_guild(..., shard=1)`` places a new guild on a shard.
    """

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        bot_name: str = "Easel",
        ack_deadline: float = 3.0,
        token_ttl: float = 15 * 60.0,
        heartbeat_interval: float = 41.25,
        limits: Limits | None = None,
        record_requests: bool = True,
        dispatch_message_events: bool = True,
        channel_upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        default_attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
        host: str = "127.0.0.1",
        shards: int = 1,
    ) -> None:
        self._waiters: list[asyncio.Future[None]] = []
        self.host = host
        self.clock = Clock()
        self.world = World()
        self.world.bot_user.username = bot_name
        self.bot_token = bot_token or _make_token(self.world.bot_user.id)
        #: Seconds the bot has for its first callback (Discord: 3).
        self.ack_deadline = ack_deadline
        #: Seconds an interaction token works for webhooks (Discord: 15 min).
        self.token_ttl = token_ttl
        self.limits = limits or Limits()
        self.limiter = RateLimiter(self.clock)
        self.record_requests = record_requests
        self.dispatch_message_events = dispatch_message_events
        self.channel_upload_limit = channel_upload_limit
        self.default_attachment_size_limit = default_attachment_size_limit
        if shards < 1:
            raise ValueError("shards must be at least 1")
        #: The shard count ``GET /gateway/bot`` recommends (and ``create_guild(shard=)`` uses).
        self.recommended_shards = shards
        #: Minimum seconds between a message/modal appearing and a simulated user acting on it.
        #: discord.py stores a non-persistent view (or modal) only after it has read the HTTP
        #: answer to the request that showed it; a human cannot click faster than that anyway.
        self.reaction_time = 0.05
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        #: Everything that happens, as it happens, for watchers other than the bot (see ``Feed``).
        self.feed = Feed()
        self.gateway = Gateway(
            self.world,
            self.clock,
            token=lambda: self.bot_token,
            url=lambda: self.gateway_url,
            on_change=self.changed,
        )
        self.gateway.heartbeat_interval_ms = int(heartbeat_interval * 1000)
        self._compose_rest()

        world = self.world
        self.owner = world.create_user("owner", global_name="Server Owner")
        self.alice = world.create_user("alice", global_name="Alice")
        world.app_owner = self.owner
        # The default guild is on shard 0, whatever the shard count (deterministic tests).
        self.guild = world.create_guild("Test Server", self.owner, shard=(0, shards))
        self.bot_role = world.create_role(
            self.guild,
            bot_name,
            permissions=DEFAULT_BOT_ROLE,
            managed=True,
            bot_id=self.bot_user.id,
        )
        world.add_member(self.guild, self.alice)
        self.bot_member = world.add_member(self.guild, self.bot_user, roles=[self.bot_role])
        self.general = world.create_channel(self.guild, "general", topic="General chat")

    def _compose_rest(self) -> None:
        """The REST side from its parts; settings tests change live are read through lambdas.

        Feed events are built only while someone watches (``Feed.watched``).
        """
        world, clock = self.world, self.clock
        auth = BotAuth(lambda: self.bot_token)
        feed = self.feed

        def request_handled(record: RequestRecord) -> None:
            if feed.watched:
                feed.emit(RequestHandled(record))

        def message_changed(kind: ChangeKind, msg: StoredMessage) -> None:
            if feed.watched:
                feed.emit(MessageChanged(kind, msg))

        def interaction_answered(handle: InteractionHandle, record: CallbackRecord) -> None:
            if feed.watched:
                feed.emit(InteractionAnswered(handle, record))

        self.request_log = RequestLog(
            clock,
            auth,
            enabled=lambda: self.record_requests,
            on_change=self.changed,
            on_record=request_handled,
        )
        #: Every HTTP request, in arrival order (see ``RequestRecord``).
        self.requests: list[RequestRecord] = self.request_log.requests
        #: Unexpected exceptions inside the fake (answered as 500); tests should expect none.
        self.internal_errors: list[str] = self.request_log.internal_errors
        self.message_events = MessageEvents(
            world,
            self.gateway.dispatch,
            enabled=lambda: self.dispatch_message_events,
            observe=message_changed,
            wanted=self.gateway.wants,
        )
        throttle = Throttle(lambda: self.limits, self.limiter)
        self._resources = (
            IdentityRoutes(
                world,
                auth,
                gateway_url=lambda: self.gateway_url,
                shards=lambda: self.recommended_shards,
                identifies=lambda: self.gateway.identifies,
            ),
            CommandRoutes(
                world,
                auth,
                on_change=self.changed,
                on_commands=lambda scope: feed.emit(CommandsChanged(scope)),
            ),
            InteractionResponses(
                world,
                clock,
                throttle,
                self.message_events,
                on_change=self.changed,
                on_callback=interaction_answered,
            ),
            ChannelRoutes(
                world,
                clock,
                auth,
                throttle,
                self.message_events,
                upload_limit=lambda: self.channel_upload_limit,
                on_change=self.changed,
            ),
            GuildRoutes(world, auth),
            CdnRoutes(world),
        )

    # ---------------------------------------------------------------- lifecycle
    async def start(self, port: int = 0) -> Self:
        """Bind 127.0.0.1 (``port=0`` picks a free port) and serve REST, gateway and CDN."""
        if self._runner is not None:
            raise RuntimeError("LocalDiscord already started")
        app = web.Application(
            middlewares=[self.request_log.middleware], client_max_size=1024 * 1024 * 1024
        )
        for resource in self._resources:
            resource.add_routes(app.router)
        app.router.add_get("/gateway", self.gateway.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await runner.setup()
        # Discord's edge never refuses a burst of new connections; aiohttp's default backlog
        # (128) would drop the SYNs of a 200-interaction burst and add the kernel's 1 s retry.
        site = web.TCPSite(runner, self.host, port, backlog=LISTEN_BACKLOG)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        self.world.cdn_base = self.base_url
        log.info("local Discord listening on %s", self.base_url)
        return self

    async def stop(self) -> None:
        """Close every gateway socket (1001) and the HTTP server."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.gateway.close_connections(code=1001)
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<LocalDiscord {self.host}:{self.port}>"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self.port is None:
            raise RuntimeError("LocalDiscord is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` should be."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` should be (also ``resume_gateway_url``)."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def bot_user(self) -> User:
        """The bot's user (its ID is also the application ID)."""
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        """The application ID."""
        return self.world.application_id

    # ----------------------------------------------------------- observation
    async def wait_until_connected(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
        *,
        shards: Iterable[int] | None = None,
    ) -> None:
        """Wait until a bot identified and received READY plus every GUILD_CREATE.

        With ``shards``, until a session of each of those shard ids is connected (the shard
        processes of one bot start independently).
        """
        if shards is None:
            await self._wait_until(lambda ld: ld.gateway.connected, timeout, "the bot to connect")
            return
        wanted = set(shards)
        await self._wait_until(
            lambda ld: wanted <= ld.gateway.connected_shards,
            timeout,
            f"shard(s) {sorted(wanted)} to connect",
        )

    def shard_of(self, guild: Guild | int | None, shard_count: int | None = None) -> int:
        """The shard a guild's events go to (``recommended_shards`` unless ``shard_count``)."""
        gid = None if guild is None else self._guild(guild).id
        return shard_of(gid, shard_count or self.recommended_shards)

    async def wait_for_message(
        self,
        predicate: Callable[[StoredMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
    ) -> StoredMessage:
        """Wait for any stored message (in any state) matching ``predicate``; returns it."""
        found: list[StoredMessage] = []

        def check(ld: LocalDiscord) -> bool:
            for msg in reversed(ld.world.messages.values()):
                if predicate(msg):
                    found.append(msg)
                    return True
            return False

        await self._wait_until(check, timeout, "a matching message")
        return found[0]

    @property
    def connected(self) -> bool:
        """A bot session is READY with an open socket."""
        return self.gateway.connected

    @property
    def sessions(self) -> list[GatewaySession]:
        """Active gateway sessions (one per shard)."""
        return list(self.gateway.active.values())

    @property
    def messages(self) -> dict[int, StoredMessage]:
        """Every message ever created (deleted ones too), by ID, oldest first."""
        return self.world.messages

    @property
    def interactions(self) -> list[InteractionHandle]:
        """Every interaction dispatched, oldest first."""
        return list(self.world.interactions.values())

    @property
    def synced_commands(self) -> dict[int | None, list[JSON]]:
        """Commands as stored by Discord: ``{None: global, guild_id: guild commands}``."""
        return {scope: list(cmds.values()) for scope, cmds in self.world.commands.items()}

    def commands(self, guild: Guild | int | None = None) -> list[JSON]:
        """Stored commands of one scope (``None`` = global)."""
        scope = None if guild is None else self._guild(guild).id
        return list(self.world.commands.get(scope, {}).values())

    @property
    def rate_limit_hits(self) -> int:
        """How many 429s were answered."""
        return self.limiter.hits

    def requests_to(
        self, route: str | None = None, method: str | None = None
    ) -> list[RequestRecord]:
        """Recorded requests by route template (``/channels/{channel_id}/messages``) and method."""
        return [
            r
            for r in self.requests
            if (route is None or r.route == route) and (method is None or r.method == method)
        ]

    def channel_messages(
        self,
        channel: ChannelRef = None,
        *,
        include_ephemeral: bool = False,
        include_deleted: bool = False,
    ) -> list[StoredMessage]:
        """Messages in a channel, oldest first."""
        ch = self._channel(channel)
        out = []
        for mid in ch.message_ids:
            msg = self.world.messages[mid]
            if (include_deleted or not msg.deleted) and (include_ephemeral or not msg.ephemeral):
                out.append(msg)
        return out

    # ------------------------------------------------------ a user's client
    def visible_channels(self, user: UserRef, guild: Guild | int | None = None) -> list[Channel]:
        """The guild's channels in ``user``'s sidebar (View Channel), by position."""
        return client_view.visible_channels(self.world, self._guild(guild), self._user(user).id)

    def visible_messages(self, user: UserRef, channel: ChannelRef = None) -> list[StoredMessage]:
        """A channel as ``user``'s client shows it: live messages, only their own ephemerals."""
        return client_view.visible_messages(self.world, self._channel(channel), self._user(user).id)

    def ephemeral_viewer(self, message: MessageRef) -> int | None:
        """The one user who sees an ephemeral message; ``None`` for a message everyone sees."""
        return client_view.ephemeral_viewer(self.world, self._message(message))

    def usable_commands(
        self, user: UserRef, channel: ChannelRef = None, *, type: int | None = None
    ) -> list[JSON]:
        """What ``user``'s command picker (``type=1``) or Apps menu (``3``) lists in ``channel``:
        contexts, age-restricted commands, Integrations overrides, default member permissions."""
        return client_view.usable_commands(
            self.world, self._channel(channel), self._user(user).id, type=type
        )

    def attachment_data(self, attachment: StoredAttachment | int) -> bytes:
        """The stored bytes of an uploaded file."""
        aid = attachment.id if isinstance(attachment, StoredAttachment) else attachment
        return self.world.attachments[aid].data

    def expire_attachment(self, attachment: StoredAttachment | int) -> None:
        """Make the CDN answer 404 for it (Discord's signed URLs expire)."""
        aid = attachment.id if isinstance(attachment, StoredAttachment) else attachment
        self.world.attachments[aid].expired = True

    def close_dms(self, user: UserRef, closed: bool = True) -> None:
        """Make the bot's DMs to ``user`` fail with 403 / 50007 (or work again)."""
        uid = self._user(user).id
        if closed:
            self.world.dms_closed.add(uid)
        else:
            self.world.dms_closed.discard(uid)

    cdn_delay = WorldKnob[float](
        "Seconds every attachment download waits before its answer (0: none)."
    )
    callback_answer_delay = WorldKnob[float](
        "Seconds an interaction callback's HTTP answer is held back after Discord acted on it "
        '(the member already sees "thinking…"; the bot does not know yet).'
    )
    keep_attachment_data = WorldKnob[bool](
        "Keep upload bytes (turn off in big benchmarks; the CDN then 404s)."
    )

    @property
    def cdn_reads(self) -> int:
        """Attachment downloads started so far."""
        return self.world.cdn_reads

    # ------------------------------------------------------------ resolvers
    def _user(self, ref: UserRef) -> User:
        if isinstance(ref, User):
            return ref
        if isinstance(ref, Member):
            return ref.user
        if isinstance(ref, int):
            return self.world.users[ref]
        for user in self.world.users.values():
            if user.username == ref:
                return user
        raise LookupError(f"no user named {ref!r}")

    def _guild(self, ref: Guild | int | None) -> Guild:
        if ref is None:
            return self.guild
        if isinstance(ref, Guild):
            return ref
        return self.world.guilds[ref]

    def _channel(self, ref: ChannelRef) -> Channel:
        if ref is None:
            return self.general
        if isinstance(ref, Channel):
            return ref
        if isinstance(ref, int):
            return self.world.channels[ref]
        name = ref.lstrip("#")
        for channel in self.guild.channels.values():
            if channel.name == name:
                return channel
        raise LookupError(f"no channel named {ref!r} in {self.guild.name!r}")

    def _role(self, ref: Role | int | str, guild: Guild) -> Role:
        if isinstance(ref, Role):
            return ref
        if isinstance(ref, int):
            return guild.roles[ref]
        for role in guild.roles.values():
            if role.name == ref:
                return role
        raise LookupError(f"no role named {ref!r}")

    def _message(self, ref: MessageRef) -> StoredMessage:
        return ref if isinstance(ref, StoredMessage) else self.world.messages[ref]

    # ------------------------------------------------------- world building
    async def _guild_event(self, event: str, data: Any, guild: Guild, intent: int) -> None:
        await self.gateway.dispatch(event, data, guild_id=guild.id, intent=intent)
        self.changed()

    def create_user(
        self,
        username: str,
        *,
        global_name: str | None = None,
        bot: bool = False,
        locale: str = "en-US",
    ) -> User:
        """A user who is in no guild yet (see ``add_member``); their client speaks ``locale``,
        which every interaction of theirs carries."""
        return self.world.create_user(username, global_name=global_name, bot=bot, locale=locale)

    async def create_guild(
        self,
        name: str,
        *,
        owner: UserRef | None = None,
        members: Iterable[UserRef] = (),
        premium_tier: int = 0,
        with_bot: bool = True,
        preferred_locale: str = "en-US",
        shard: int | None = None,
    ) -> Guild:
        """A new guild with ``#general``; the bot joins (GUILD_CREATE) unless ``with_bot=False``.

        ``preferred_locale`` is the Community setting Discord sends as ``guild_locale``.
        ``shard`` picks the guild's ID so that it lives on that shard of ``recommended_shards``
        (without it, wherever its creation time puts it, as on Discord).
        """
        world = self.world
        if shard is not None and not 0 <= shard < self.recommended_shards:
            raise ValueError(f"shard {shard} is not one of {self.recommended_shards} shard(s)")
        guild = world.create_guild(
            name,
            self._user(owner or self.owner),
            premium_tier=premium_tier,
            preferred_locale=preferred_locale,
            shard=None if shard is None else (shard, self.recommended_shards),
        )
        world.create_channel(guild, "general")
        for m in members:
            world.add_member(guild, self._user(m))
        if with_bot:
            role = world.create_role(
                guild,
                self.bot_user.username,
                permissions=DEFAULT_BOT_ROLE,
                managed=True,
                bot_id=self.bot_user.id,
            )
            world.add_member(guild, self.bot_user, roles=[role])
            await self._guild_event("GUILD_CREATE", guild.payload(), guild, INTENT_GUILDS)
        return guild

    async def create_channel(
        self,
        name: str,
        *,
        guild: Guild | int | None = None,
        nsfw: bool = False,
        topic: str | None = None,
        type: int = TEXT_CHANNEL,
        category: Channel | None = None,
    ) -> Channel:
        """A text channel (CHANNEL_CREATE to the bot)."""
        g = self._guild(guild)
        channel = self.world.create_channel(
            g, name, type=type, nsfw=nsfw, topic=topic, parent=category
        )
        await self._guild_event("CHANNEL_CREATE", channel.payload(), g, INTENT_GUILDS)
        return channel

    async def update_channel(
        self,
        channel: ChannelRef,
        *,
        nsfw: bool | None = None,
        name: str | None = None,
        topic: str | None = None,
    ) -> Channel:
        """Change a channel (CHANNEL_UPDATE)."""
        ch = self._channel(channel)
        if nsfw is not None:
            ch.nsfw = nsfw
        if name is not None:
            ch.name = name
        if topic is not None:
            ch.topic = topic
        await self._channel_updated(ch)
        return ch

    async def _channel_updated(self, ch: Channel) -> None:
        if ch.guild_id is not None:
            await self._guild_event(
                "CHANNEL_UPDATE", ch.payload(), self.world.guilds[ch.guild_id], INTENT_GUILDS
            )

    async def create_role(
        self,
        name: str,
        *,
        guild: Guild | int | None = None,
        permissions: PermissionLike = 0,
        mentionable: bool = False,
    ) -> Role:
        """A role (GUILD_ROLE_CREATE)."""
        g = self._guild(guild)
        role = self.world.create_role(
            g, name, permissions=to_bits(permissions), mentionable=mentionable
        )
        await self._guild_event(
            "GUILD_ROLE_CREATE", {"guild_id": str(g.id), "role": role.payload()}, g, INTENT_GUILDS
        )
        return role

    async def set_role_permissions(
        self,
        role: Role | int | str,
        permissions: PermissionLike,
        *,
        guild: Guild | int | None = None,
    ) -> Role:
        """Replace a role's permissions (GUILD_ROLE_UPDATE); ``"@everyone"`` works too."""
        g = self._guild(guild)
        r = self._role(role, g)
        r.permissions = to_bits(permissions)
        await self._guild_event(
            "GUILD_ROLE_UPDATE", {"guild_id": str(g.id), "role": r.payload()}, g, INTENT_GUILDS
        )
        return r

    async def add_member(
        self,
        user: UserRef,
        *,
        guild: Guild | int | None = None,
        roles: Iterable[Role | int | str] = (),
        nick: str | None = None,
    ) -> Member:
        """Join a user to a guild (GUILD_MEMBER_ADD, needs the GUILD_MEMBERS intent)."""
        g = self._guild(guild)
        member = self.world.add_member(
            g, self._user(user), roles=[self._role(r, g) for r in roles], nick=nick
        )
        data = member.payload()
        data_json: JSON = {**data, "guild_id": str(g.id)}
        await self._guild_event("GUILD_MEMBER_ADD", data_json, g, INTENT_GUILD_MEMBERS)
        return member

    async def add_users(
        self, count: int, *, prefix: str = "member", guild: Guild | int | None = None
    ) -> list[User]:
        """``count`` new users who join ``guild`` (e.g. the benchmark's 200 concurrent members)."""
        g = self._guild(guild)
        start = len(self.world.users)
        users = [self.world.create_user(f"{prefix}{start + i}") for i in range(count)]
        for user in users:
            await self.add_member(user, guild=g)
        return users

    async def set_member_roles(
        self, user: UserRef, roles: Iterable[Role | int | str], *, guild: Guild | int | None = None
    ) -> Member:
        """Replace a member's roles (GUILD_MEMBER_UPDATE; always sent for the bot itself)."""
        g = self._guild(guild)
        member = g.members[self._user(user).id]
        member.roles = [self._role(r, g).id for r in roles]
        data: JSON = {**member.payload(), "guild_id": str(g.id)}
        intent = 0 if member.id == self.bot_user.id else INTENT_GUILD_MEMBERS
        await self._guild_event("GUILD_MEMBER_UPDATE", data, g, intent)
        return member

    async def set_overwrite(
        self,
        channel: ChannelRef,
        target: OverwriteTarget,
        *,
        allow: PermissionLike = 0,
        deny: PermissionLike = 0,
    ) -> Channel:
        """Set (replace) a channel overwrite for a role or member (CHANNEL_UPDATE)."""
        ch = self._channel(channel)
        if ch.guild_id is None:
            raise ValueError("DM channels have no overwrites")
        g = self.world.guilds[ch.guild_id]
        if isinstance(target, Role) or (isinstance(target, str) and target.startswith("@")):
            role = self._role(target, g)
            tid, ttype = role.id, 0
        else:
            tid, ttype = self._user(target).id, 1
        self.world.set_overwrite(ch, tid, ttype, to_bits(allow), to_bits(deny))
        await self._channel_updated(ch)
        return ch

    async def deny(
        self, channel: ChannelRef, *permissions: str, target: OverwriteTarget | None = None
    ) -> Channel:
        """Add deny bits to the overwrite of ``target`` (default: the bot), e.g. "attach_files"."""
        return await self._change_overwrite(channel, permissions, target, deny=True)

    async def allow(
        self, channel: ChannelRef, *permissions: str, target: OverwriteTarget | None = None
    ) -> Channel:
        """Add allow bits to ``target``'s overwrite (default: the bot)."""
        return await self._change_overwrite(channel, permissions, target, deny=False)

    async def _change_overwrite(
        self,
        channel: ChannelRef,
        permissions: tuple[str, ...],
        target: OverwriteTarget | None,
        *,
        deny: bool,
    ) -> Channel:
        """Move ``permissions`` to one side of ``target``'s overwrite, keeping its other bits."""
        ch = self._channel(channel)
        who = target if target is not None else self.bot_user
        tid = who.id if not isinstance(who, str) else self._target_id(ch, who)
        current = ch.overwrites.get(tid)
        bits = to_bits(permissions)
        allowed = current.allow if current else 0
        denied = current.deny if current else 0
        if deny:
            allowed, denied = allowed & ~bits, denied | bits
        else:
            allowed, denied = allowed | bits, denied & ~bits
        return await self.set_overwrite(ch, who, allow=allowed, deny=denied)

    def _target_id(self, ch: Channel, name: str) -> int:
        g = self.world.guilds[ch.guild_id] if ch.guild_id is not None else self.guild
        if name.startswith("@"):
            return self._role(name, g).id
        return self._user(name).id

    def dm_channel(self, user: UserRef) -> Channel:
        """The DM channel between the bot and ``user``."""
        return self.world.dm_channel(self._user(user))

    def permissions(self, channel: ChannelRef = None, user: UserRef | None = None) -> int:
        """Resolved permissions of ``user`` (default: the bot) in ``channel``."""
        who = self.bot_user if user is None else self._user(user)
        return self.world.permissions(self._channel(channel), who.id)

    async def post_message(
        self,
        user: UserRef,
        channel: ChannelRef = None,
        content: str = "",
        *,
        attachments: Sequence[Upload] = (),
        embeds: Sequence[JSON] = (),
    ) -> StoredMessage:
        """A message written by a (simulated) user, e.g. an image to run a context menu on."""
        u = self._user(user)
        ch = self._channel(channel)
        files = [_upload(a, i) for i, a in enumerate(attachments)]
        body = MessageBody(
            present=frozenset({"content", "embeds"}), content=content, embeds=list(embeds)
        )
        msg = self.world.create_message(
            channel=ch,
            author=u,
            body=body,
            files=files,
            size_limit=1 << 40,
            at=self.clock.now(),
            perms=self.world.permissions(ch, u.id),
            route="driver:post_message",
        )
        await self.message_events.created(msg)
        self.changed()
        return msg

    def register_commands(
        self, commands: list[JSON], *, guild: Guild | int | None = None
    ) -> list[JSON]:
        """Store commands as if synced before (Discord keeps them); ``guild=None`` is global."""
        scope = None if guild is None else self._guild(guild).id
        stored = self.world.overwrite_commands(scope, commands)
        self.changed()
        self.feed.emit(CommandsChanged(scope))
        return stored

    async def set_command_permission(
        self,
        command: str,
        target: OverwriteTarget | Channel,
        permission: bool | None,
        *,
        type: int = 1,
        guild: Guild | int | None = None,
    ) -> list[CommandPermission]:
        """Server Settings → Integrations: let ``target`` use ``command`` here, or not (``None``
        removes the override). ``target`` is a role (``"@everyone"`` too), a member or a channel;
        ``command="*"`` sets the application-wide override. Tells the bot
        (APPLICATION_COMMAND_PERMISSIONS_UPDATE) and returns the command's overrides."""
        g = self._guild(guild)
        if command == "*":
            command_id = self.application_id
        else:
            found = self.world.find_command(g.id, command, type)
            if found is None:
                raise LookupError(f"command {command!r} (type {type}) is not synced")
            command_id = int(found["id"])
        if isinstance(target, Channel):
            tid, ttype = target.id, COMMAND_PERMISSION_CHANNEL
        elif isinstance(target, Role) or (isinstance(target, str) and target.startswith("@")):
            tid, ttype = self._role(target, g).id, COMMAND_PERMISSION_ROLE
        else:
            tid, ttype = self._user(target).id, COMMAND_PERMISSION_USER
        key = (g.id, command_id)
        kept = [
            p for p in self.world.command_permissions.get(key, []) if (p.id, p.type) != (tid, ttype)
        ]
        if permission is not None:
            kept.append(CommandPermission(tid, ttype, permission))
        self.world.command_permissions[key] = kept
        data: JSON = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "guild_id": str(g.id),
            "permissions": [p.payload() for p in kept],
        }
        await self._guild_event("APPLICATION_COMMAND_PERMISSIONS_UPDATE", data, g, 0)
        return kept

    # ------------------------------------------------------------ interactions
    def _base_payload(
        self, itype: int, user: User, channel: Channel, data: JSON, locale: str, size_limit: int
    ) -> tuple[JSON, int, str]:
        world = self.world
        iid = world.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        bot_perms = world.permissions(channel, self.bot_user.id)
        chan = channel.payload()  # a fresh dict
        payload: JSON = {
            "id": str(iid),
            "application_id": str(world.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "channel": chan,
            "locale": locale,
            "app_permissions": str(bot_perms),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": size_limit,
        }
        if channel.guild_id is not None:
            guild = world.guilds[channel.guild_id]
            member = guild.members.get(user.id)
            if member is None:
                raise ValueError(f"{user.username} is not a member of {guild.name}")
            perms = world.permissions(channel, user.id)
            chan["permissions"] = str(perms)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                member=member.payload(permissions=perms),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            chan["permissions"] = str(world.permissions(channel, user.id))
            payload.update(
                user=user.payload(), authorizing_integration_owners={"0": "0"}, context=1
            )
        return payload, iid, token

    async def _dispatch(
        self,
        itype: int,
        user: UserRef,
        channel: Channel,
        data: JSON,
        *,
        command: JSON | None = None,
        source: StoredMessage | None = None,
        parent: InteractionHandle | None = None,
        attachment_size_limit: int | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        u = self._user(user)
        locale = locale or u.locale  # a client sends its own language on every interaction
        limit = (
            self.default_attachment_size_limit
            if attachment_size_limit is None
            else attachment_size_limit
        )
        payload, iid, token = self._base_payload(itype, u, channel, data, locale, limit)
        if source is not None:
            payload["message"] = source.payload()
        handle = InteractionHandle(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            user=u,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            attachment_size_limit=limit,
            clock=self.clock,
            ack_deadline=self.ack_deadline,
            token_ttl=self.token_ttl,
            command=command,
            source_message=source,
            parent=parent,
        )
        world = self.world
        world.interactions[iid] = handle
        world.interactions_by_token[token] = handle
        handle.dispatched_at = self.clock.now()
        if self.feed.watched:
            self.feed.emit(InteractionDispatched(handle))  # before the bot can possibly answer
        if not await self.gateway.dispatch(
            "INTERACTION_CREATE", payload, guild_id=channel.guild_id
        ):
            del world.interactions[iid]
            del world.interactions_by_token[token]
            shards = sorted(s.shard for s in self.gateway.active.values())
            where = f" (none of the shards {shards} owns guild {channel.guild_id})"
            raise NoBotConnected(
                "no bot session to receive INTERACTION_CREATE" + (where if shards else "")
            )
        self.changed()
        return handle

    def _command(self, channel: Channel, name: str, ctype: int) -> JSON:
        cmd = self.world.find_command(channel.guild_id, name, ctype)
        if cmd is None:
            raise LookupError(
                f"command {name!r} (type {ctype}) is not synced for this guild or globally; "
                "sync the tree or call ld.register_commands() first"
            )
        return cmd

    async def send_slash_command(
        self,
        user: UserRef,
        channel: ChannelRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        attachments: Sequence[Upload] = (),
        subcommand: str | None = None,
        attachment_size_limit: int | None = None,
        locale: str | None = None,
        validate: bool = True,
    ) -> InteractionHandle:
        """A user runs ``/name [subcommand] options…`` as the Discord client would send it.

        The interaction carries the user's ``locale`` (``create_user``) unless one is given.

        Option types come from the synced definition. ``subcommand`` may be ``"sub"`` or
        ``"group sub"``. Attachment options take an ``Upload`` tuple as their value, or are filled
        in order from ``attachments``. ``validate`` applies the client-side checks (required
        options, choices, min/max); turn it off to send what a modified client could.
        """
        ch = self._channel(channel)
        cmd = self._command(ch, name, 1)
        defs, wrap = _subcommand(cmd, name, subcommand)
        if any(o.get("type") in (_SUBCOMMAND, _SUBCOMMAND_GROUP) for o in defs):
            raise ValueError(f"/{name} needs subcommand=")
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(
            defs, dict(options or {}), list(attachments), resolved, ch, validate
        )
        data = _command_data(cmd, name, 1, options=wrap(built))
        if resolved:
            data["resolved"] = resolved
        return await self._dispatch(
            APPLICATION_COMMAND,
            user,
            ch,
            data,
            command=cmd,
            attachment_size_limit=attachment_size_limit,
            locale=locale,
        )

    def _build_options(
        self,
        defs: list[JSON],
        options: dict[str, Any],
        uploads: list[Upload],
        resolved: dict[str, dict[str, Any]],
        channel: Channel,
        validate: bool,
    ) -> list[JSON]:
        by_name = {str(d["name"]): d for d in defs}
        for key in options:
            if key not in by_name:
                raise ValueError(f"unknown option {key!r}; the command has {sorted(by_name)}")
        for d in defs:
            if not uploads:
                break
            if d.get("type") == _OPTION_ATTACHMENT and d["name"] not in options:
                options[str(d["name"])] = uploads.pop(0)
        if uploads:
            raise ValueError("more attachments than free attachment options")
        out: list[JSON] = []
        for d in defs:
            oname = str(d["name"])
            if oname not in options:
                if validate and d.get("required"):
                    raise ValueError(f"missing required option {oname!r}")
                continue
            value = self._option_value(d, options[oname], resolved, channel, validate)
            out.append({"name": oname, "type": int(d["type"]), "value": value})
        return out

    def _option_value(
        self,
        d: JSON,
        value: Any,
        resolved: dict[str, dict[str, Any]],
        channel: Channel,
        validate: bool,
    ) -> Any:
        otype = int(d["type"])
        if otype == _OPTION_STRING:
            out: Any = str(value)
            if validate:
                lo, hi = d.get("min_length"), d.get("max_length")
                if (lo is not None and len(out) < lo) or (hi is not None and len(out) > hi):
                    raise ValueError(f"{d['name']}: length outside {lo}..{hi}")
        elif otype == _OPTION_INTEGER:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise TypeError(f"{d['name']}: expected an int")
            out = int(value)
        elif otype == _OPTION_NUMBER:
            out = float(value)
        elif otype == _OPTION_BOOLEAN:
            out = bool(value)
        elif otype in (_OPTION_USER, _OPTION_MENTIONABLE) and not isinstance(value, Role):
            user = self._user(value)
            self._resolve_user(user, channel, resolved)
            out = str(user.id)
        elif otype in (_OPTION_ROLE, _OPTION_MENTIONABLE):
            guild = self._guild(channel.guild_id)
            role = self._role(value, guild)
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            out = str(role.id)
        elif otype == _OPTION_CHANNEL:
            target = self._channel(value)
            entry: JSON = dict(target.payload())
            entry["permissions"] = str(self.world.permissions(target, self.bot_user.id))
            resolved.setdefault("channels", {})[str(target.id)] = entry
            out = str(target.id)
        elif otype == _OPTION_ATTACHMENT:
            if isinstance(value, StoredAttachment):
                att = value
            else:
                up = _upload(value, 0)
                att = self.world.make_attachment(
                    channel.id, up.filename, up.data, up.content_type, ephemeral=True
                )
            resolved.setdefault("attachments", {})[str(att.id)] = att.payload()
            out = str(att.id)
        else:
            raise ValueError(f"unsupported option type {otype}")
        if validate and otype in (_OPTION_INTEGER, _OPTION_NUMBER):
            lo, hi = d.get("min_value"), d.get("max_value")
            if (lo is not None and out < lo) or (hi is not None and out > hi):
                raise ValueError(f"{d['name']}: {out} outside {lo}..{hi}")
        choices = d.get("choices")
        if validate and choices and out not in [c.get("value") for c in choices]:
            raise ValueError(f"{d['name']}: {out!r} is not one of the choices")
        return out

    def _resolve_user(
        self, user: User, channel: Channel, resolved: dict[str, dict[str, Any]]
    ) -> None:
        resolved.setdefault("users", {})[str(user.id)] = user.payload()
        if channel.guild_id is None:
            return
        member = self.world.guilds[channel.guild_id].members.get(user.id)
        if member is not None:
            perms = self.world.permissions(channel, user.id)
            resolved.setdefault("members", {})[str(user.id)] = member.payload(
                with_user=False, permissions=perms
            )

    async def autocomplete(
        self,
        user: UserRef,
        channel: ChannelRef,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        subcommand: str | None = None,
    ) -> InteractionHandle:
        """A type-4 autocomplete request: values are raw (partly typed) text, ``focused`` marked.

        The focused option is always sent, as Discord does, empty if nothing is typed yet.
        """
        ch = self._channel(channel)
        cmd = self._command(ch, name, 1)
        defs, wrap = _subcommand(cmd, name, subcommand)
        types = {str(d["name"]): int(d["type"]) for d in defs}
        if focused not in types:
            raise ValueError(f"/{name} has no option {focused!r} to autocomplete")
        built: list[JSON] = []
        for key, value in {**options, focused: options.get(focused, "")}.items():
            opt: JSON = {"name": key, "type": types.get(key, _OPTION_STRING), "value": value}
            if key == focused:
                opt["focused"] = True
            built.append(opt)
        data = _command_data(cmd, name, 1, options=wrap(built))
        return await self._dispatch(AUTOCOMPLETE, user, ch, data, command=cmd)

    async def use_message_command(
        self,
        user: UserRef,
        channel: ChannelRef,
        name: str,
        message: MessageRef,
        *,
        attachment_size_limit: int | None = None,
    ) -> InteractionHandle:
        """A message context-menu command on ``message`` (resolved with its attachments)."""
        ch = self._channel(channel)
        cmd = self._command(ch, name, 3)
        msg = self._message(message)
        resolved = {"messages": {str(msg.id): msg.payload()}}
        data = _command_data(cmd, name, 3, target_id=str(msg.id), resolved=resolved)
        return await self._dispatch(
            APPLICATION_COMMAND,
            user,
            ch,
            data,
            command=cmd,
            attachment_size_limit=attachment_size_limit,
        )

    async def use_user_command(
        self, user: UserRef, channel: ChannelRef, name: str, target: UserRef
    ) -> InteractionHandle:
        """A user context-menu command on ``target``."""
        ch = self._channel(channel)
        cmd = self._command(ch, name, 2)
        t = self._user(target)
        resolved: dict[str, dict[str, Any]] = {}
        self._resolve_user(t, ch, resolved)
        data = _command_data(cmd, name, 2, target_id=str(t.id), resolved=resolved)
        return await self._dispatch(APPLICATION_COMMAND, user, ch, data, command=cmd)

    async def _react_after(self, shown_at: float | None) -> None:
        """Wait out ``reaction_time`` since something was shown (no wait if it is older)."""
        if shown_at is None:
            return
        delay = self.reaction_time - (self.clock.now() - shown_at)
        if delay > 0:
            await asyncio.sleep(delay)

    async def click_button(
        self, user: UserRef, message: MessageRef, custom_id: str
    ) -> InteractionHandle:
        """A click on a button (or any component) with ``custom_id`` on ``message``."""
        return await self._use_component(user, message, custom_id)

    async def select(
        self, user: UserRef, message: MessageRef, custom_id: str, values: Sequence[str]
    ) -> InteractionHandle:
        """A choice in a select menu on ``message``."""
        return await self._use_component(user, message, custom_id, [str(v) for v in values])

    async def _use_component(
        self, user: UserRef, message: MessageRef, custom_id: str, values: list[str] | None = None
    ) -> InteractionHandle:
        """A MESSAGE_COMPONENT interaction, once a human could have seen the message."""
        msg = self._message(message)
        ctype = msg.custom_ids().get(custom_id)
        if ctype is None:
            raise LookupError(
                f"message {msg.id} has no component {custom_id!r}; "
                f"it has {sorted(msg.custom_ids())}"
            )
        data: JSON = {"custom_id": custom_id, "component_type": ctype}
        if values is not None:
            data["values"] = values
        await self._react_after(msg.versions[-1].at if msg.versions else None)
        return await self._dispatch(
            MESSAGE_COMPONENT, user, self.world.channels[msg.channel_id], data, source=msg
        )

    async def submit_modal(
        self,
        user: UserRef,
        custom_id: str | None = None,
        fields: Mapping[str, Any] | None = None,
        *,
        after: InteractionHandle | None = None,
        channel: ChannelRef = None,
    ) -> InteractionHandle:
        """Submit the modal ``after`` opened (type-9 callback), filling text inputs by custom_id.

        Inputs not in ``fields`` keep their default ``value``. Select-like inputs take a list of
        values; a file-upload input takes a list of ``Upload`` tuples.
        """
        values = dict(fields or {})
        modal: JSON | None = None
        if after is not None:
            modal = after.modal
            if modal is None:
                raise ValueError(f"interaction {after.id} did not answer with a modal")
        cid = custom_id or (modal or {}).get("custom_id")
        if not cid:
            raise ValueError("custom_id is required without after=")
        ch = (
            self.world.channels[after.channel_id]
            if after is not None and channel is None
            else self._channel(channel)
        )
        resolved: dict[str, dict[str, Any]] = {}
        if modal is not None:
            components = [
                self._modal_component(c, values, resolved, ch) for c in modal.get("components", [])
            ]
            if values:
                raise ValueError(f"the modal has no inputs {sorted(values)}")
        else:
            components = [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": str(v)}]}
                for k, v in values.items()
            ]
        data: JSON = {"custom_id": cid, "components": components}
        if resolved:
            data["resolved"] = resolved
        source = after.source_message if after is not None else None
        if after is not None and after.ack is not None:
            await self._react_after(after.ack.at)
        return await self._dispatch(MODAL_SUBMIT, user, ch, data, source=source, parent=after)

    def _modal_component(
        self,
        comp: Any,
        values: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        channel: Channel,
    ) -> JSON:
        if not isinstance(comp, dict):
            return {}
        ctype = comp.get("type")
        out: JSON = {"type": ctype}
        if "id" in comp:
            out["id"] = comp["id"]
        if ctype == 1:
            out["components"] = [
                self._modal_component(c, values, resolved, channel)
                for c in comp.get("components", [])
            ]
        elif ctype == 18:
            out["component"] = self._modal_component(
                comp.get("component"), values, resolved, channel
            )
        elif "custom_id" in comp:
            cid = comp["custom_id"]
            out["custom_id"] = cid
            if ctype == 4:
                out["value"] = str(values.pop(cid, comp.get("value") or ""))
            elif ctype == 19:
                ids = []
                for i, item in enumerate(values.pop(cid, [])):
                    up = _upload(item, i)
                    att = self.world.make_attachment(
                        channel.id, up.filename, up.data, up.content_type, ephemeral=True
                    )
                    resolved.setdefault("attachments", {})[str(att.id)] = att.payload()
                    ids.append(str(att.id))
                out["values"] = ids
            elif ctype == 23:
                out["value"] = bool(values.pop(cid, False))
            elif ctype == 21:
                out["value"] = values.pop(cid, None)
            else:
                out["values"] = [str(v) for v in values.pop(cid, [])]
        return out

    # --------------------------------------------------------- gateway control
    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes and RESUMEs."""
        await self.gateway.send_op({"op": RECONNECT, "d": None})

    async def invalidate_session(self) -> None:
        """Send op 9 (not resumable): the bot must IDENTIFY again."""
        await self.gateway.send_op({"op": INVALID_SESSION, "d": False})
        self.gateway.forget_sessions()

    async def drop_connections(self, code: int = 4000) -> None:
        """Close the sockets abruptly (the session stays resumable)."""
        await self.gateway.close_connections(code)

    def refuse_gateway(self, refusing: bool = True) -> None:
        """An outage: new gateway connections get HTTP 503 until called with False.

        Open sockets stay; ``drop_connections`` after this keeps the bot out until then.
        """
        self.gateway.refusing = refusing
