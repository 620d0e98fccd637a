"""Each REST resource works from the parts it is given, without a LocalDiscord around it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from local_discord.clock import Clock
from local_discord.gateway import INTENT_GUILD_MESSAGES
from local_discord.interactions import InteractionHandle
from local_discord.models import FLAG_EPHEMERAL
from local_discord.permissions import Permission
from local_discord.ratelimit import Limits, RateLimiter, RateLimitRule, Throttle
from local_discord.rest.channels import ChannelRoutes
from local_discord.rest.commands import CommandRoutes
from local_discord.rest.events import MessageEvents
from local_discord.rest.http import BotAuth, RequestLog
from local_discord.rules import MessageBody
from local_discord.state import World

Client = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
TOKEN = "test-token"
BOT = {"Authorization": f"Bot {TOKEN}"}
MENTION_EVERYONE = int(Permission.MENTION_EVERYONE)


class Recorder:
    """Stands in for ``Gateway.dispatch`` and the change callback."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], Any]] = []
        self.changes = 0

    async def dispatch(self, event: str, data: Any, **kwargs: Any) -> int:
        self.events.append((event, data, kwargs.get("redacted")))
        return 1

    def changed(self) -> None:
        self.changes += 1


def app_with(log: RequestLog, *resources: Any) -> web.Application:
    app = web.Application(middlewares=[log.middleware])
    for resource in resources:
        resource.add_routes(app.router)
    return app


async def test_commands_resource_needs_only_world_auth_and_a_change_callback(
    aiohttp_client: Client,
) -> None:
    world, clock, seen = World(), Clock(), Recorder()
    auth = BotAuth(lambda: TOKEN)
    log = RequestLog(clock, auth, enabled=lambda: True, on_change=seen.changed)
    client = await aiohttp_client(app_with(log, CommandRoutes(world, auth, on_change=seen.changed)))
    path = f"/api/v10/applications/{world.application_id}/commands"

    refused = await client.put(path, json=[])
    stored = await client.put(path, json=[{"name": "imagine", "description": "draw"}], headers=BOT)

    assert refused.status == 401
    assert stored.status == 200
    assert [c["name"] for c in world.commands[None].values()] == ["imagine"]
    assert [(r.status, r.authorized, r.route) for r in log.requests] == [
        (401, False, "/applications/{application_id}/commands"),
        (200, True, "/applications/{application_id}/commands"),
    ]
    assert seen.changes == 3  # two logged requests and one stored change


async def test_channel_messages_use_live_limits_and_tell_the_gateway(
    aiohttp_client: Client,
) -> None:
    world, clock, seen = World(), Clock(), Recorder()
    owner = world.create_user("owner")
    guild = world.create_guild("Guild", owner)
    world.add_member(guild, world.bot_user)
    channel = world.create_channel(guild, "general")
    limits = Limits()
    auth = BotAuth(lambda: TOKEN)
    events = MessageEvents(world, seen.dispatch, enabled=lambda: True)
    routes = ChannelRoutes(
        world,
        clock,
        auth,
        Throttle(lambda: limits, RateLimiter(clock)),
        events,
        upload_limit=lambda: 1024,
        on_change=seen.changed,
    )
    log = RequestLog(clock, auth, enabled=lambda: False, on_change=seen.changed)
    client = await aiohttp_client(app_with(log, routes))
    path = f"/api/v10/channels/{channel.id}/messages"

    first = await client.post(path, json={"content": "one"}, headers=BOT)
    limits.message_create = RateLimitRule(1, 60.0)  # tightened after the first request
    second = await client.post(path, json={"content": "two"}, headers=BOT)
    third = await client.post(path, json={"content": "three"}, headers=BOT)

    assert [first.status, second.status, third.status] == [200, 200, 429]
    assert [(e, d["content"]) for e, d, _ in seen.events] == [
        ("MESSAGE_CREATE", "one"),
        ("MESSAGE_CREATE", "two"),
    ]
    assert log.requests == []  # recording was turned off


async def test_message_events_redact_other_authors_and_skip_ephemeral() -> None:
    world, seen = World(), Recorder()
    owner = world.create_user("owner")
    guild = world.create_guild("Guild", owner)
    world.add_member(guild, world.bot_user)
    channel = world.create_channel(guild, "general")
    enabled = True
    events = MessageEvents(world, seen.dispatch, enabled=lambda: enabled)

    def post(author: Any, content: str, flags: int = 0) -> Any:
        body = MessageBody(present=frozenset({"content"}), content=content, flags=flags)
        return world.create_message(
            channel=channel,
            author=author,
            body=body,
            files=[],
            size_limit=1024,
            at=0.0,
            perms=world.permissions(channel, author.id),
            allow_flags=FLAG_EPHEMERAL,
        )

    await events.created(post(owner, "from a member"))
    await events.created(post(world.bot_user, "from the bot"))
    await events.created(post(world.bot_user, "only you can see this", FLAG_EPHEMERAL))
    enabled = False
    await events.updated(post(world.bot_user, "while events are off"))

    assert [(e, d["content"], r and r["content"]) for e, d, r in seen.events] == [
        ("MESSAGE_CREATE", "from a member", ""),
        ("MESSAGE_CREATE", "from the bot", None),
    ]


async def test_message_events_nobody_wants_are_not_built_but_still_wake_the_interaction() -> None:
    world, seen = World(), Recorder()
    owner = world.create_user("owner")
    guild = world.create_guild("Guild", owner)
    world.add_member(guild, world.bot_user)
    channel = world.create_channel(guild, "general")
    asked: list[tuple[int | None, int]] = []

    def wanted(guild_id: int | None, intent: int) -> bool:
        asked.append((guild_id, intent))
        return False

    events = MessageEvents(world, seen.dispatch, enabled=lambda: True, wanted=wanted)
    handle = InteractionHandle(
        id=world.ids.next(),
        token="t",
        type=2,
        payload={},
        user=owner,
        channel_id=channel.id,
        guild_id=guild.id,
        attachment_size_limit=1024,
        clock=Clock(),
        ack_deadline=3.0,
        token_ttl=900.0,
    )
    world.interactions[handle.id] = handle
    body = MessageBody(present=frozenset({"content"}), content="thinking")
    msg = world.create_message(
        channel=channel,
        author=world.bot_user,
        body=body,
        files=[],
        size_limit=1024,
        at=0.0,
        perms=world.bot_permissions(channel),
        interaction=handle,
    )
    checks = 0

    def second_check(h: InteractionHandle) -> bool:
        nonlocal checks
        checks += 1
        return checks > 1

    waiting = asyncio.create_task(handle.wait_for(second_check, timeout=5))
    await asyncio.sleep(0)  # checked once, now waiting for a change
    await events.created(msg)
    await asyncio.wait_for(waiting, 1)  # woken by the message, not by the timeout
    await events.deleted(msg)

    assert seen.events == []
    assert asked == [(guild.id, INTENT_GUILD_MESSAGES)] * 2


def test_a_message_reads_its_authors_permissions_only_for_a_mention() -> None:
    world = World()
    owner = world.create_user("owner")
    guild = world.create_guild("Guild", owner)
    world.add_member(guild, world.bot_user)
    channel = world.create_channel(guild, "general")
    asked: list[int] = []

    def perms(bits: int) -> Callable[[], int]:
        def read() -> int:
            asked.append(bits)
            return bits

        return read

    def post(content: str, bits: int) -> bool:
        body = MessageBody(present=frozenset({"content"}), content=content)
        msg = world.create_message(
            channel=channel,
            author=world.bot_user,
            body=body,
            files=[],
            size_limit=1024,
            at=0.0,
            perms=perms(bits),
        )
        return msg.mention_everyone

    assert not post("no one pinged", MENTION_EVERYONE)
    assert asked == []
    assert post("@everyone look", MENTION_EVERYONE)
    assert not post("@everyone look", 0)
    assert asked == [MENTION_EVERYONE, 0]
