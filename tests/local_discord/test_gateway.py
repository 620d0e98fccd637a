"""Gateway: login, READY and guild cache, zlib-stream framing, heartbeats, RESUME, re-identify."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from local_discord import LocalDiscord, NoBotConnected, Permission, zstd_available
from local_discord.gateway import GatewaySession


async def test_login_ready_and_guild_cache(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """discord.py logs in, identifies and caches guild, channels (nsfw), roles and its member."""
    art = await ld.create_channel("nsfw-art", nsfw=True)
    await ld.set_overwrite(art, "@everyone", deny=Permission.VIEW_CHANNEL)
    mods = await ld.create_role("Mods", permissions=Permission.MANAGE_MESSAGES, mentionable=True)
    bot = bot_factory()
    async with run_bot(bot):
        assert bot.user is not None and bot.user.id == ld.bot_user.id
        assert bot.application_id == ld.application_id
        guild = bot.get_guild(ld.guild.id)
        assert guild is not None and guild.name == "Test Server"
        assert guild.owner_id == ld.owner.id
        general = guild.get_channel(ld.general.id)
        nsfw = guild.get_channel(art.id)
        assert isinstance(general, discord.TextChannel) and not general.is_nsfw()
        assert isinstance(nsfw, discord.TextChannel) and nsfw.is_nsfw()
        assert not nsfw.overwrites_for(guild.default_role).view_channel
        assert {r.name for r in guild.roles} >= {"@everyone", "Easel", "Mods"}
        assert guild.get_role(mods.id) is not None
        me = guild.me
        assert me is not None and me.id == ld.bot_user.id
        assert [r.name for r in me.roles if not r.is_default()] == ["Easel"]
        # discord.py's permission math agrees with the fake's.
        voice_only = discord.Permissions.voice().value  # discord.py strips these in text channels
        assert general.permissions_for(me).value == ld.permissions(ld.general) & ~voice_only
        assert general.permissions_for(me).attach_files
        assert not nsfw.permissions_for(me).view_channel
        assert ld.permissions(art) == 0
    paths = [(r.method, r.route) for r in ld.requests[:2]]
    assert paths == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]


async def test_bad_token_is_rejected(ld: LocalDiscord, bot_factory: Any) -> None:
    """A wrong token fails at login with 401, as discord.py's LoginFailure."""
    from bot.client import use_discord_endpoints

    use_discord_endpoints(ld.api_base, ld.gateway_url)
    bot = bot_factory()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("not-the-token")
    finally:
        await bot.close()
    assert ld.requests[-1].status == 401


async def _read_frames(
    ws: aiohttp.ClientWebSocketResponse, inflate: Any, count: int
) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type is aiohttp.WSMsgType.BINARY
        assert msg.data.endswith(b"\x00\x00\xff\xff"), "each payload ends with a Z_SYNC_FLUSH"
        out.append(json.loads(inflate.decompress(msg.data)))
    return out


async def test_zlib_stream_frames_decode_with_one_context(ld: LocalDiscord) -> None:
    """``compress=zlib-stream``: binary frames, one inflate context, HELLO→READY→GUILD_CREATE."""
    url = f"{ld.gateway_url}?v=10&encoding=json&compress=zlib-stream"
    inflate = zlib.decompressobj()
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        (hello,) = await _read_frames(ws, inflate, 1)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
        await ws.send_str(json.dumps({"op": 1, "d": None}))
        (ack,) = await _read_frames(ws, inflate, 1)
        assert ack["op"] == 11
        identify = {"op": 2, "d": {"token": ld.bot_token, "intents": 513, "properties": {}}}
        await ws.send_str(json.dumps(identify))
        ready, guild_create = await _read_frames(ws, inflate, 2)
        assert (ready["t"], ready["s"]) == ("READY", 1)
        assert ready["d"]["resume_gateway_url"] == ld.gateway_url
        assert ready["d"]["application"]["id"] == str(ld.application_id)
        assert ready["d"]["guilds"] == [{"id": str(ld.guild.id), "unavailable": True}]
        assert (guild_create["t"], guild_create["s"]) == ("GUILD_CREATE", 2)
        g = guild_create["d"]
        assert g["unavailable"] is False and g["member_count"] == 3
        assert {c["name"] for c in g["channels"]} == {"general"}
        assert str(ld.bot_user.id) in {m["user"]["id"] for m in g["members"]}
    assert ld.sessions[0].conn is None


async def test_plain_frames_without_compression_and_bad_token_close(ld: LocalDiscord) -> None:
    """Without ``compress`` frames are text; a wrong token closes with 4004."""
    async with aiohttp.ClientSession() as session, session.ws_connect(ld.gateway_url) as ws:
        hello = await ws.receive()
        assert hello.type is aiohttp.WSMsgType.TEXT and json.loads(hello.data)["op"] == 10
        await ws.send_str(json.dumps({"op": 2, "d": {"token": "wrong", "intents": 0}}))
        closed = await ws.receive()
        assert closed.type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4004


async def test_privileged_intents_can_be_refused(
    ld: LocalDiscord, bot_factory: Callable[..., commands.Bot]
) -> None:
    """A bot asking for a privileged intent the app lacks gets 4014 (PrivilegedIntentsRequired)."""
    from bot.client import use_discord_endpoints

    ld.gateway.allowed_privileged_intents = 0
    use_discord_endpoints(ld.api_base, ld.gateway_url)
    bot = bot_factory(intents=discord.Intents.all())
    try:
        await bot.login(ld.bot_token)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.connect(reconnect=True), 5)
    finally:
        await bot.close()


@pytest.mark.skipif(not zstd_available(), reason="zstandard not installed")
async def test_zstd_stream_frames_decode(
    ld: LocalDiscord,
) -> None:  # pragma: no cover - optional dep
    """``compress=zstd-stream`` is served when zstandard is importable."""
    import zstandard  # type: ignore[import-not-found]

    url = f"{ld.gateway_url}?v=10&encoding=json&compress=zstd-stream"
    dec = zstandard.ZstdDecompressor().decompressobj()
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        msg = await ws.receive()
        assert json.loads(dec.decompress(msg.data))["op"] == 10


async def test_reconnect_resumes_and_replays_missed_events(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """op 7 RECONNECT: the bot RESUMEs on the same session; events sent meanwhile are replayed."""
    bot = bot_factory()
    seen: list[int] = []

    @bot.tree.command(name="ping", description="ping")
    async def ping(interaction: discord.Interaction) -> None:
        seen.append(interaction.id)
        await interaction.response.send_message("pong")

    resumed = asyncio.Event()

    @bot.event
    async def on_resumed() -> None:
        resumed.set()

    async with run_bot(bot):
        session = ld.sessions[0]
        await ld.request_reconnect()
        # While the bot is reconnecting the event is buffered on the session.
        handle = await ld.send_slash_command(ld.alice, ld.general, "ping")
        await asyncio.wait_for(resumed.wait(), 5)
        await handle.wait_for_callback()
        assert ld.sessions == [session] and session.resumes == 1
        assert seen == [handle.id]
        assert ld.gateway.identifies == 1


async def test_invalid_session_makes_the_bot_identify_again(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """op 9 (d=false): discord.py drops the session and IDENTIFYs afresh."""
    bot = bot_factory()

    async def no_identify_pause(shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py waits 5 s before a re-IDENTIFY; not needed locally

    bot.before_identify_hook = no_identify_pause  # type: ignore[method-assign]
    async with run_bot(bot):
        first = ld.sessions[0]
        await ld.invalidate_session()
        await ld.wait_for(lambda s: s.connected and s.sessions[0] is not first, timeout=10)
        assert ld.gateway.identifies == 2


async def test_dropped_socket_is_resumed(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """An abrupt close (4000) is followed by a RESUME, not a new IDENTIFY."""
    bot = bot_factory()
    async with run_bot(bot):
        session = ld.sessions[0]
        await ld.drop_connections(4000)
        await ld.wait_for(lambda s: session.resumes == 1 and s.connected, timeout=10)
        assert ld.gateway.identifies == 1


async def test_no_bot_means_no_interaction(ld: LocalDiscord) -> None:
    """Dispatching with no session raises instead of silently losing the event."""
    ld.register_commands([{"name": "ping", "description": "ping"}])
    with pytest.raises(NoBotConnected):
        await ld.send_slash_command(ld.alice, ld.general, "ping")


def test_shard_routing_follows_discord_formula() -> None:
    """``(guild_id >> 22) % num_shards``; DMs belong to shard 0."""
    s0 = GatewaySession(id="a", shard=(0, 2), intents=0)
    s1 = GatewaySession(id="b", shard=(1, 2), intents=0)
    gid = (12345 << 22) | 7
    assert s1.owns_guild(gid) and not s0.owns_guild(gid)
    assert s0.owns_guild(None) and not s1.owns_guild(None)


def test_wants_asks_the_sessions_dispatch_would_send_to(ld: LocalDiscord) -> None:
    """An event is wanted when a session (connected or not) owns the guild and has the intent."""
    gid = (12345 << 22) | 7  # shard 1 of 2
    assert not ld.gateway.wants(gid)
    ld.gateway.active[(0, 2)] = GatewaySession(id="a", shard=(0, 2), intents=1 << 9)
    ld.gateway.active[(1, 2)] = GatewaySession(id="b", shard=(1, 2), intents=1)
    assert ld.gateway.wants(gid) and ld.gateway.wants(gid, 1)
    assert not ld.gateway.wants(gid, 1 << 9)  # only shard 0 asked for guild messages
    assert ld.gateway.wants(None, 1 << 9) and not ld.gateway.wants(None, 1 << 12)


async def test_member_queries_are_answered_with_chunks(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """op 8 REQUEST_GUILD_MEMBERS → GUILD_MEMBERS_CHUNK with the nonce discord.py waits for."""
    bot = bot_factory(intents=discord.Intents.default() | discord.Intents(members=True))
    async with run_bot(bot, sync=False):
        guild = bot.get_guild(ld.guild.id)
        assert guild is not None and guild.chunked  # GUILD_CREATE carried every member
        found = await guild.query_members("al")
        by_id = await guild.query_members(user_ids=[ld.owner.id])
    assert [m.id for m in found] == [ld.alice.id]
    assert [m.id for m in by_id] == [ld.owner.id]


async def test_a_refusing_gateway_answers_503_until_it_accepts_again(ld: LocalDiscord) -> None:
    """An outage: the websocket upgrade fails (as a client sees Discord down), then works."""
    ld.refuse_gateway()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(ld.gateway_url)
        assert caught.value.status == 503

        ld.refuse_gateway(False)
        async with session.ws_connect(ld.gateway_url) as ws:
            hello = await ws.receive_json(timeout=5)
    assert hello["op"] == 10
