"""The gateway: HELLO/IDENTIFY/READY/RESUME, heartbeats, zlib-/zstd-stream transport compression."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from local_discord.clock import Clock
from local_discord.payloads import JSON, dumps
from local_discord.snowflake import shard_of
from local_discord.state import World

log = logging.getLogger(__name__)

DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

RESUME_BUFFER = 2000
#: Discord closes a session that would receive more guilds than this with 4011.
MAX_GUILDS_PER_SHARD = 2500


class _Compressor(Protocol):
    def __call__(self, data: bytes) -> bytes: ...


def _zlib_stream() -> _Compressor:
    """One zlib context per connection; every payload ends with a sync flush (``00 00 ff ff``)."""
    ctx = zlib.compressobj()

    def compress(data: bytes) -> bytes:
        return ctx.compress(data) + ctx.flush(zlib.Z_SYNC_FLUSH)

    return compress


def _zstd_stream() -> _Compressor | None:
    """One zstd stream per connection with a block flush per payload (needs ``zstandard``)."""
    try:
        zstd: Any = importlib.import_module("zstandard")
    except ImportError:
        return None
    ctx = zstd.ZstdCompressor().compressobj()
    flush_block = zstd.COMPRESSOBJ_FLUSH_BLOCK

    def compress(data: bytes) -> bytes:
        out: bytes = ctx.compress(data) + ctx.flush(flush_block)
        return out

    return compress


def zstd_available() -> bool:
    """Whether ``zstd-stream`` can be served (discord.py asks for it when it has zstandard)."""
    return _zstd_stream() is not None


class GatewayConnection:
    """One websocket. Sends are serialised so compression state and sequence order always agree."""

    def __init__(self, ws: web.WebSocketResponse, compression: str | None) -> None:
        self.ws = ws
        self.compression: str | None = None
        self._compress: _Compressor | None = None
        if compression == "zlib-stream":
            self._compress = _zlib_stream()
            self.compression = compression
        elif compression == "zstd-stream":
            self._compress = _zstd_stream()
            # Without zstandard: plain text frames, which discord.py also accepts.
            self.compression = compression if self._compress is not None else None
        self.lock = asyncio.Lock()
        self.session: GatewaySession | None = None
        self.heartbeats = 0
        self.last_heartbeat: float | None = None
        self.frames_sent = 0

    @property
    def closed(self) -> bool:
        """The socket is gone (or going)."""
        return self.ws.closed

    async def send_text(self, text: str) -> None:
        """Send one payload (caller holds ``lock`` when order matters)."""
        if self.ws.closed:
            return
        try:
            if self._compress is not None:
                await self.ws.send_bytes(self._compress(text.encode()))
            else:
                await self.ws.send_str(text)
            self.frames_sent += 1
        except (ConnectionError, RuntimeError) as exc:
            log.debug("gateway send failed: %s", exc)

    async def send(self, payload: JSON) -> None:
        """Serialise and send a non-dispatch payload."""
        async with self.lock:
            await self.send_text(dumps(payload))


@dataclass(eq=False)
class GatewaySession:
    """A logical session: survives reconnects through RESUME, replaying what the bot missed."""

    id: str
    shard: tuple[int, int]
    intents: int
    seq: int = 0
    conn: GatewayConnection | None = None
    ready: bool = False
    resumes: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=RESUME_BUFFER))

    def owns_guild(self, guild_id: int | None) -> bool:
        """Discord's shard routing: ``(guild_id >> 22) % num_shards``; DMs go to shard 0."""
        shard_id, count = self.shard
        return shard_of(guild_id, count) == shard_id

    async def dispatch(self, event: str, data_json: str) -> None:
        """Number, buffer (for RESUME) and send one DISPATCH."""
        conn = self.conn
        if conn is None:
            self.seq += 1
            self.buffer.append((self.seq, _frame(event, self.seq, data_json)))
            return
        async with conn.lock:
            self.seq += 1
            text = _frame(event, self.seq, data_json)
            self.buffer.append((self.seq, text))
            await conn.send_text(text)


def _frame(event: str, seq: int, data_json: str) -> str:
    return f'{{"op":0,"t":"{event}","s":{seq},"d":{data_json}}}'


class NoBotConnected(RuntimeError):
    """An event had nowhere to go: no bot has identified on the gateway."""


def parse_shard(raw: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` (``[shard_id, num_shards]``, absent: ``[0, 1]``); None if invalid."""
    if raw is None:
        return (0, 1)
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        return None
    shard_id, count = raw
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (shard_id, count)):
        return None
    if not 0 <= shard_id < count:
        return None
    return (shard_id, count)


class Gateway:
    """Owns sessions and connections; the server calls ``dispatch`` for every event."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        *,
        token: Callable[[], str],
        url: Callable[[], str],
        on_change: Callable[[], None],
    ) -> None:
        self.world = world
        self.clock = clock
        self._token = token
        self._url = url
        self._on_change = on_change
        self.heartbeat_interval_ms = 41250
        self.allowed_privileged_intents = PRIVILEGED_INTENTS
        #: A session that would get more guilds than this is closed with 4011 (must shard).
        self.max_guilds_per_shard = MAX_GUILDS_PER_SHARD
        self.sessions: dict[str, GatewaySession] = {}
        self.active: dict[tuple[int, int], GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        self.identifies = 0
        #: While True, new connections are answered 503 before the upgrade (an outage).
        self.refusing = False

    # ------------------------------------------------------------------ state
    @property
    def connected(self) -> bool:
        """A bot session is READY (GUILD_CREATEs sent) and its socket is open."""
        return any(
            s.ready and s.conn is not None and not s.conn.closed for s in self.active.values()
        )

    @property
    def connected_shards(self) -> set[int]:
        """Shard ids with a READY session and an open socket."""
        return {
            s.shard[0]
            for s in self.active.values()
            if s.ready and s.conn is not None and not s.conn.closed
        }

    def sessions_for(self, guild_id: int | None) -> list[GatewaySession]:
        """Active sessions whose shard owns ``guild_id``."""
        return [s for s in self.active.values() if s.owns_guild(guild_id)]

    def wants(self, guild_id: int | None, intent: int = 0) -> bool:
        """Whether ``dispatch(..., guild_id=guild_id, intent=intent)`` would reach any session
        (lets a caller skip building an event nobody receives)."""
        for session in self.active.values():
            if session.owns_guild(guild_id) and (not intent or session.intents & intent):
                return True
        return False

    async def dispatch(
        self,
        event: str,
        data: Any,
        *,
        guild_id: int | None = None,
        intent: int = 0,
        redacted: Any = None,
    ) -> int:
        """Send an event to the sessions that own the guild and asked for ``intent``.

        ``redacted`` is what sessions without MESSAGE_CONTENT get instead. Returns how many
        sessions received (or buffered) the event.
        """
        targets = self.sessions_for(guild_id)
        if not targets:
            return 0
        full_json: str | None = None
        red_json: str | None = None
        sent = 0
        for session in targets:
            if intent and not session.intents & intent:
                continue
            if redacted is not None and not session.intents & INTENT_MESSAGE_CONTENT:
                if red_json is None:
                    red_json = dumps(redacted)
                payload = red_json
            else:
                if full_json is None:
                    full_json = dumps(data)
                payload = full_json
            await session.dispatch(event, payload)
            sent += 1
        return sent

    # ------------------------------------------------------------- websocket
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /gateway``: one websocket connection from HELLO to close."""
        if self.refusing:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(compress=False, max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = GatewayConnection(ws, request.query.get("compress"))
        self.connections.add(conn)
        try:
            if request.query.get("encoding", "json") != "json":
                await ws.close(code=4002, message=b"Only JSON encoding is supported.")
                return ws
            if request.query.get("v", "10") not in ("10", "9"):
                await ws.close(code=4012, message=b"Invalid API version.")
                return ws
            await conn.send(
                {
                    "op": HELLO,
                    "d": {
                        "heartbeat_interval": self.heartbeat_interval_ms,
                        "_trace": ["local-discord"],
                    },
                    "s": None,
                    "t": None,
                }
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_message(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self._on_message(conn, msg.data.decode())
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            self._on_change()
        return ws

    async def _on_message(self, conn: GatewayConnection, text: str) -> None:
        try:
            payload = json.loads(text)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            await conn.ws.close(code=4002, message=b"Error while decoding payload.")
            return
        data = payload.get("d")
        if op == HEARTBEAT:
            conn.heartbeats += 1
            conn.last_heartbeat = self.clock.now()
            await conn.send({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(conn, data)
        elif op == RESUME:
            await self._resume(conn, data)
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            await self._request_members(conn.session, data)
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            return
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, data: Any) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if not isinstance(data, dict) or data.get("token") != self._token():
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = parse_shard(data.get("shard"))
        if shard is None:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        world = self.world
        guilds = [
            g
            for g in world.guilds.values()
            if world.bot_user.id in g.members and shard_of(g.id, shard[1]) == shard[0]
        ]
        if len(guilds) > self.max_guilds_per_shard:
            await conn.ws.close(code=4011, message=b"Sharding required.")
            return
        session = GatewaySession(id=secrets.token_hex(16), shard=shard, intents=intents)
        self.sessions[session.id] = session
        old = self.active.get(shard)
        if old is not None:
            self.sessions.pop(old.id, None)
        self.active[shard] = session
        session.conn = conn
        conn.session = session
        self.identifies += 1
        user = dict(world.bot_user.payload())
        user.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
        ready = {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "shard": list(shard),
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "_trace": ["local-discord"],
        }
        await session.dispatch("READY", dumps(ready))
        for guild in guilds:
            await session.dispatch("GUILD_CREATE", dumps(guild.payload()))
        session.ready = True
        log.debug("session %s identified (shard %s, intents %s)", session.id, shard, intents)
        self._on_change()

    async def _resume(self, conn: GatewayConnection, data: Any) -> None:
        session = None
        if isinstance(data, dict) and data.get("token") == self._token():
            session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq") if isinstance(data, dict) else None
        if session is None or self.active.get(session.shard) is not session:
            await conn.send({"op": INVALID_SESSION, "d": False})
            return
        last = int(seq or 0)
        if session.buffer and last < session.buffer[0][0] - 1:
            await conn.send({"op": INVALID_SESSION, "d": False})
            return
        old = session.conn
        if old is not None and old is not conn:
            old.session = None
            with contextlib.suppress(ConnectionError, RuntimeError):
                await old.ws.close(code=4000, message=b"Session resumed elsewhere.")
        async with conn.lock:
            conn.session = session
            session.conn = conn
            for s, text in list(session.buffer):
                if s > last:
                    await conn.send_text(text)
            session.seq += 1
            await conn.send_text(_frame("RESUMED", session.seq, '{"_trace":["local-discord"]}'))
        session.resumes += 1
        log.debug("session %s resumed from seq %s", session.id, last)
        self._on_change()

    async def _request_members(self, session: GatewaySession, data: Any) -> None:
        if not isinstance(data, dict):
            return
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        wanted = data.get("user_ids")
        members = list(guild.members.values())
        if wanted:
            ids = {int(u) for u in (wanted if isinstance(wanted, list) else [wanted])}
            members = [m for m in members if m.id in ids]
        query = data.get("query")
        if isinstance(query, str) and query:
            members = [m for m in members if m.user.username.lower().startswith(query.lower())]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await session.dispatch("GUILD_MEMBERS_CHUNK", dumps(chunk))

    # ---------------------------------------------------------------- control
    async def send_op(self, payload: JSON) -> None:
        """Send a raw op (RECONNECT, INVALID_SESSION…) to every active connection."""
        for session in list(self.active.values()):
            if session.conn is not None:
                await session.conn.send(payload)

    async def close_connections(self, code: int = 4000) -> None:
        """Drop every socket (sessions stay resumable unless ``forget_sessions`` is called)."""
        for conn in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=code, message=b"closed by LocalDiscord")

    def forget_sessions(self) -> None:
        """Make every session unresumable (the next RESUME gets INVALID_SESSION)."""
        self.sessions.clear()
        self.active.clear()
        self._on_change()
