"""The feed: every message version, interaction, REST call and command sync, as it happens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
import pytest
from discord.ext import commands

from local_discord import LocalDiscord, RateLimitRule
from local_discord.feed import (
    CommandsChanged,
    Feed,
    FeedEvent,
    InteractionAnswered,
    InteractionDispatched,
    MessageChanged,
    RequestHandled,
)
from tests.local_discord.conftest import OpenGeneral


def ping_bot(bot: commands.Bot) -> None:
    """``/ping`` answers privately, then edits the answer; ``/hello`` answers publicly."""

    @bot.tree.command(name="ping", description="Private pong")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)
        await interaction.edit_original_response(content="pong!")

    @bot.tree.command(name="hello", description="Public hello")
    async def hello(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hello")


async def test_a_listener_sees_ephemeral_answers_their_edits_and_the_interaction(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """The bot never hears of ephemeral messages; a watcher sees each version in order."""
    bot = bot_factory()
    ping_bot(bot)
    seen: list[FeedEvent] = []
    async with run_bot(bot):
        stop = ld.feed.listen(seen.append)
        handle = await ld.send_slash_command("alice", "#general", "ping")
        await handle.wait_for_original(lambda m: m.content == "pong!")
        stop()
        await ld.send_slash_command("alice", "#general", "hello")
    kinds = [
        (type(e).__name__, getattr(e, "kind", ""))
        for e in seen
        if not isinstance(e, RequestHandled)
    ]
    assert kinds == [
        ("InteractionDispatched", ""),
        ("MessageChanged", "create"),
        ("InteractionAnswered", ""),
        ("MessageChanged", "edit"),
    ]
    dispatched = next(e for e in seen if isinstance(e, InteractionDispatched))
    answered = next(e for e in seen if isinstance(e, InteractionAnswered))
    assert dispatched.interaction is handle and answered.interaction is handle
    assert answered.callback.accepted and answered.callback.type == 4
    messages = [e for e in seen if isinstance(e, MessageChanged)]
    assert {e.message.id for e in messages} == {handle.original.id}  # type: ignore[union-attr]
    assert messages[0].message.ephemeral
    routes = [(e.record.method, e.record.route) for e in seen if isinstance(e, RequestHandled)]
    assert ("POST", "/interactions/{interaction_id}/{token}/callback") in routes
    assert ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}") in routes


async def test_refused_callbacks_deletes_and_command_syncs_are_fed(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    bot = bot_factory()
    refused = asyncio.Event()

    @bot.tree.command(name="late", description="Answers after the deadline")
    async def late(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound:
            refused.set()

    @bot.tree.command(name="bye", description="Answers, then deletes the answer")
    async def bye(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("bye")
        await interaction.delete_original_response()

    seen: list[FeedEvent] = []
    ld.feed.listen(seen.append)
    async with run_bot(bot, sync=True):
        ld.ack_deadline = 0.0
        await ld.send_slash_command("alice", None, "late")
        await asyncio.wait_for(refused.wait(), 5)
        ld.ack_deadline = 3.0
        handle = await ld.send_slash_command("alice", None, "bye")
        await ld.wait_for(lambda s: bool(handle.original and handle.original.deleted))
    assert [e.scope for e in seen if isinstance(e, CommandsChanged)] == [None]
    callbacks = [e.callback for e in seen if isinstance(e, InteractionAnswered)]
    assert [(c.accepted, c.error_code) for c in callbacks] == [(False, 10062), (True, None)]
    assert [e.kind for e in seen if isinstance(e, MessageChanged)] == ["create", "delete"]


async def test_rate_limit_hits_are_fed_even_when_requests_are_not_kept(
    ld: LocalDiscord, general: OpenGeneral
) -> None:
    """Benchmarks turn the request log off; a watcher still gets every request, 429s included."""
    ld.record_requests = False
    ld.limits.message_create = RateLimitRule(1, 60.0, headers=False)
    statuses: list[tuple[str | None, int]] = []
    ld.feed.listen(
        lambda e: (
            statuses.append((e.record.route, e.record.status))
            if isinstance(e, RequestHandled)
            else None
        )
    )
    async with general() as channel:
        await channel.send("one")
        with pytest.raises(discord.RateLimited):
            await channel.send("two")  # a minute's wait: over max_ratelimit_timeout, raised
    assert ld.requests == []
    assert ("/channels/{channel_id}/messages", 429) in statuses
    assert ld.rate_limit_hits == 1


@pytest.fixture
def bot_factory() -> Callable[..., commands.Bot]:
    """Bots that raise on a 429 of more than 30 s (discord.py's smallest) instead of waiting."""

    def make(**kwargs: Any) -> commands.Bot:
        kwargs.setdefault("intents", discord.Intents.default())
        kwargs.setdefault("guild_ready_timeout", 0.01)
        kwargs.setdefault("max_ratelimit_timeout", 30.0)
        return commands.Bot(command_prefix=commands.when_mentioned, **kwargs)

    return make


async def test_subscribe_queues_events_until_read_and_stops_on_exit(ld: LocalDiscord) -> None:
    with ld.feed.subscribe() as events:
        first = await ld.post_message("alice", "#general", "one")
        second = await ld.post_message("alice", "#general", "two")
        got = [await anext(events), await anext(events)]
    await ld.post_message("alice", "#general", "three")
    assert [(e.kind, e.message) for e in got if isinstance(e, MessageChanged)] == [
        ("create", first),
        ("create", second),
    ]
    assert not ld.feed.watched


def test_a_failing_listener_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = Feed()
    heard: list[FeedEvent] = []

    def broken(event: FeedEvent) -> None:
        raise RuntimeError("boom")

    feed.listen(broken)
    feed.listen(heard.append)
    event = CommandsChanged(None)
    with caplog.at_level(logging.ERROR, logger="local_discord.feed"):
        feed.emit(event)
        feed.emit(event)
    assert heard == [event, event]
    assert caplog.text.count("a feed listener failed on CommandsChanged") == 2
