"""The driver API: world changes reach the bot cache, DMs, selects, modals from buttons, shards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from local_discord import LocalDiscord, Permission
from tests.local_discord.conftest import pong_bot


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0)


async def test_world_changes_reach_the_bot_cache(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """GUILD_CREATE, CHANNEL_CREATE/UPDATE and GUILD_ROLE_UPDATE keep discord.py's cache true."""
    bot = bot_factory()
    async with run_bot(bot, sync=False):
        guild = await ld.create_guild("Second Server", members=[ld.alice])
        channel = await ld.create_channel("renders")
        await ld.update_channel(channel, nsfw=True)
        await ld.set_role_permissions("@everyone", Permission.VIEW_CHANNEL)
        everyone_id = ld.guild.id
        await asyncio.wait_for(
            _until(
                lambda: (
                    bot.get_guild(guild.id) is not None
                    and isinstance(ch := bot.get_channel(channel.id), discord.TextChannel)
                    and ch.is_nsfw()
                    and bot.get_guild(everyone_id).default_role.permissions.value  # type: ignore[union-attr]
                    == int(Permission.VIEW_CHANNEL)
                )
            ),
            5,
        )
        second = bot.get_guild(guild.id)
        assert second is not None and [c.name for c in second.channels] == ["general"]
        assert second.me is not None


async def test_bot_direct_messages_land_in_the_dm_channel(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """``user.send`` opens a DM (POST /users/@me/channels) and posts there."""
    bot = bot_factory()
    async with run_bot(bot, sync=False):
        user = await bot.fetch_user(ld.alice.id)
        sent = await user.send("your image is ready")
        found = await ld.wait_for_message(lambda m: m.content == "your image is ready")
    dm = ld.dm_channel(ld.alice)
    assert found.id == sent.id and found.channel_id == dm.id and found.guild_id is None
    assert [m.id for m in ld.channel_messages(dm)] == [sent.id]


async def test_message_events_reach_the_bot_and_respect_message_content(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """MESSAGE_CREATE reaches on_message; without MESSAGE_CONTENT a user's text is blanked."""
    bot = bot_factory()
    seen: list[tuple[int, str]] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append((message.author.id, message.content))

    async with run_bot(bot, sync=False):
        channel = bot.get_channel(ld.general.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("from the bot")
        await ld.post_message(ld.alice, ld.general, "from alice")
        await asyncio.wait_for(_until(lambda: len(seen) == 2), 5)
    assert seen == [(ld.bot_user.id, "from the bot"), (ld.alice.id, "")]


async def test_select_menu_choice(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """``ld.select`` sends the chosen values to the Select callback."""
    bot = bot_factory()
    chosen: list[list[str]] = []

    class Pick(discord.ui.View):
        @discord.ui.select(
            custom_id="size",
            options=[discord.SelectOption(label=s, value=s) for s in ("1024", "2048")],
        )
        async def size(
            self, interaction: discord.Interaction, select: discord.ui.Select[Any]
        ) -> None:
            chosen.append(select.values)
            await interaction.response.defer()

    @bot.tree.command(name="size", description="Size")
    async def size(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pick", view=Pick())

    async with run_bot(bot):
        shown = await ld.send_slash_command(ld.alice, ld.general, "size")
        message = await shown.wait_for_original()
        picked = await ld.select(ld.alice, message, "size", ["2048"])
        await picked.wait_for_callback()
    assert chosen == [["2048"]]
    assert picked.callbacks[0].type == 6 and picked.original is message


async def test_modal_opened_from_a_button_can_update_the_message(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Button → modal → submit: the submit interaction carries the message and may edit it (7)."""
    bot = bot_factory()

    class Rename(discord.ui.Modal, title="Rename"):
        name = discord.ui.TextInput(label="Name", custom_id="name", default="old")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.edit_message(content=f"renamed to {self.name.value}")

    class Buttons(discord.ui.View):
        @discord.ui.button(label="Rename", custom_id="rename")
        async def rename(
            self, interaction: discord.Interaction, button: discord.ui.Button[Any]
        ) -> None:
            await interaction.response.send_modal(Rename())

    @bot.tree.command(name="card", description="Card")
    async def card(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("card", view=Buttons())

    async with run_bot(bot):
        shown = await ld.send_slash_command(ld.alice, ld.general, "card")
        message = await shown.wait_for_original()
        opened = await ld.click_button(ld.alice, message, "rename")
        await opened.wait_for_callback()
        submitted = await ld.submit_modal(ld.alice, after=opened)
        await submitted.wait_for_callback()
    assert submitted.callbacks[0].type == 7
    assert message.content == "renamed to old"  # the default value was submitted unchanged


async def test_registered_commands_work_without_a_sync(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Discord keeps commands across restarts: ``register_commands`` stands in for an old sync."""
    bot = pong_bot(bot_factory())
    stored = ld.register_commands(
        [c.to_dict(bot.tree) for c in bot.tree.get_commands()], guild=ld.guild
    )
    async with run_bot(bot, sync=False):
        handle = await ld.send_slash_command("alice", "#general", "ping")
        await handle.wait_for_callback()
    assert handle.payload["data"]["id"] == stored[0]["id"]
    assert handle.payload["data"]["guild_id"] == str(ld.guild.id)
    assert handle.original is not None and handle.original.content == "pong"


async def test_auto_sharded_bot_gets_each_guild_on_its_shard(
    ld: LocalDiscord, run_bot: Any
) -> None:
    """Two shards from ``/gateway/bot``: every guild arrives on ``(id >> 22) % 2``."""
    await ld.create_guild("Other")
    ld.recommended_shards = 2
    bot = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        guild_ready_timeout=0.01,
    )

    async def no_identify_pause(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    bot.before_identify_hook = no_identify_pause  # type: ignore[method-assign]
    async with run_bot(bot, sync=False):
        assert bot.shard_count == 2 and len(ld.sessions) == 2
        assert sorted(s.shard for s in ld.sessions) == [(0, 2), (1, 2)]
        for guild in bot.guilds:
            assert guild.shard_id == (guild.id >> 22) % 2
        assert len(bot.guilds) == 2


async def test_slash_command_in_a_dm(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """In a DM the interaction has ``user`` (not ``member``), context 1, and no guild."""
    bot = bot_factory()
    seen: list[tuple[Any, ...]] = []

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        seen.append((interaction.guild, type(interaction.user), type(interaction.channel)))
        await interaction.response.send_message("pong")

    async with run_bot(bot):
        dm = ld.dm_channel(ld.alice)
        handle = await ld.send_slash_command(ld.alice, dm, "ping")
        original = await handle.wait_for_original()
    assert seen == [(None, discord.User, discord.DMChannel)]
    assert handle.payload["context"] == 1 and "member" not in handle.payload
    assert original.channel_id == dm.id and original.guild_id is None


async def test_expired_attachment_urls_404(ld: LocalDiscord, png: Any) -> None:
    """Discord's CDN URLs expire: ``expire_attachment`` makes the download fail like that."""
    message = await ld.post_message(ld.alice, ld.general, "", attachments=[("a.png", png())])
    (att,) = message.attachments
    async with aiohttp.ClientSession() as session:
        async with session.get(att.url) as ok:
            assert ok.status == 200 and ok.content_type == "image/png"
            assert await ok.read() == ld.attachment_data(att)
        ld.expire_attachment(att)
        async with session.get(att.url) as gone:
            assert gone.status == 404


async def test_a_slow_cdn_counts_each_download_and_answers_after_its_delay(
    ld: LocalDiscord, png: Any
) -> None:
    """``cdn_delay``: a large upload on a slow link, to test what happens while it downloads."""
    message = await ld.post_message(ld.alice, ld.general, "", attachments=[("a.png", png())])
    (att,) = message.attachments
    ld.cdn_delay = 0.3
    async with aiohttp.ClientSession() as session:
        started = asyncio.get_running_loop().time()
        async with session.get(att.url) as slow:
            assert slow.status == 200 and await slow.read() == ld.attachment_data(att)
        assert asyncio.get_running_loop().time() - started >= 0.3
    assert ld.cdn_reads == 1


async def test_a_held_back_callback_answer_is_acted_on_before_the_bot_hears_of_it(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """``callback_answer_delay``: the member sees "thinking…" while the bot still waits."""
    bot = bot_factory()
    answered = asyncio.Event()

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        answered.set()

    async with run_bot(bot):
        ld.callback_answer_delay = 0.5
        handle = await ld.send_slash_command(ld.alice, ld.general, "ping")
        assert (await handle.wait_for_callback(timeout=3)).type == 5
        assert not answered.is_set()
        await asyncio.wait_for(answered.wait(), 3)


async def test_closed_dms_refuse_the_bot_with_50007(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """``close_dms``: a member who takes no DM from server members (or blocked the bot)."""
    bot = bot_factory()
    ld.close_dms(ld.alice)
    async with run_bot(bot, sync=False):
        user = await bot.fetch_user(ld.alice.id)
        with pytest.raises(discord.Forbidden) as refused:
            await user.send("your image is ready")
        ld.close_dms(ld.alice, closed=False)
        await user.send("now it works")
    assert refused.value.code == 50007
    assert [m.content for m in ld.channel_messages(ld.dm_channel(ld.alice))] == ["now it works"]


async def test_many_members_can_use_commands_at_once(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """50 members run a command concurrently: every one is acknowledged in time."""
    bot = bot_factory()

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"pong {interaction.user.name}")

    users = await ld.add_users(50)
    async with run_bot(bot):
        handles = await asyncio.gather(
            *(ld.send_slash_command(u, ld.general, "ping") for u in users)
        )
        await asyncio.gather(*(h.wait_for_original(lambda m: m.content != "") for h in handles))
    assert len({u.username for u in users}) == 50
    assert all(h.acknowledged and not h.missed_deadline for h in handles)
    assert sorted(h.original.content for h in handles if h.original) == sorted(
        f"pong {u.username}" for u in users
    )
