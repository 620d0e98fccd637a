"""A user's client: their channels, only their own ephemeral answers, the commands they can use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from local_discord import LocalDiscord, Permission


def admin_and_member_commands(bot: commands.Bot) -> None:
    """``/secret`` answers privately; ``/admin`` needs Manage Server; ``/lewd`` is NSFW-only."""

    @bot.tree.command(name="secret", description="A private answer")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"for {interaction.user.name}", ephemeral=True)

    @bot.tree.command(name="admin", description="Manage Server only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)

    @bot.tree.command(name="lewd", description="Age-restricted", nsfw=True)
    async def lewd(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    @bot.tree.context_menu(name="Inspect")
    async def inspect(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message("ok", ephemeral=True)


def names(commands: list[dict[str, Any]]) -> list[str]:
    return [str(c["name"]) for c in commands]


async def test_an_ephemeral_answer_is_seen_only_by_who_asked(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    bot = bot_factory()
    admin_and_member_commands(bot)
    async with run_bot(bot):
        public = await ld.post_message("owner", "#general", "hello")
        handle = await ld.send_slash_command("alice", "#general", "secret")
        private = await handle.wait_for_original()
    assert [m.id for m in ld.visible_messages("alice", "#general")] == [public.id, private.id]
    assert [m.id for m in ld.visible_messages("owner", "#general")] == [public.id]
    assert ld.ephemeral_viewer(private) == ld.alice.id
    assert ld.ephemeral_viewer(public) is None


async def test_a_hidden_channel_is_neither_listed_nor_readable(ld: LocalDiscord) -> None:
    staff = await ld.create_channel("staff")
    await ld.set_overwrite(staff, "@everyone", deny="view_channel")
    note = await ld.post_message("owner", staff, "staff only")
    assert [c.name for c in ld.visible_channels("alice")] == ["general"]
    assert [c.name for c in ld.visible_channels("owner")] == ["general", "staff"]
    assert ld.visible_messages("alice", staff) == []
    assert ld.visible_messages("owner", staff) == [note]


async def test_the_picker_lists_what_the_member_may_use_here(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Default member permissions hide /admin; /lewd only in an NSFW channel; Apps separately."""
    bot = bot_factory()
    admin_and_member_commands(bot)
    mods = await ld.create_role("Mods", permissions=Permission.MANAGE_GUILD)
    sam = ld.create_user("sam")
    await ld.add_member(sam, roles=[mods])
    nsfw = await ld.create_channel("after-dark", nsfw=True)
    async with run_bot(bot):
        pass
    assert names(ld.usable_commands("alice", "#general", type=1)) == ["secret"]
    assert names(ld.usable_commands("sam", "#general", type=1)) == ["admin", "secret"]
    assert names(ld.usable_commands("owner", "#general", type=1)) == ["admin", "secret"]
    assert names(ld.usable_commands("alice", nsfw, type=1)) == ["lewd", "secret"]
    assert names(ld.usable_commands("alice", "#general", type=3)) == ["Inspect"]
    await ld.set_role_permissions("@everyone", Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)
    assert ld.usable_commands("alice", "#general") == []  # no Use Application Commands


async def test_integrations_overrides_grant_and_take_commands_and_tell_the_bot(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Server Settings → Integrations: the command's own overrides win over the app-wide ones,
    a member's over their roles', a channel's "no" over everything but administrators."""
    bot = bot_factory()
    admin_and_member_commands(bot)
    updates: list[tuple[int, list[tuple[int, bool]]]] = []
    changed = asyncio.Event()

    @bot.event
    async def on_raw_app_command_permissions_update(
        payload: discord.RawAppCommandPermissionsUpdateEvent,
    ) -> None:
        updates.append((payload.target_id, [(p.id, p.permission) for p in payload.permissions]))
        changed.set()

    bob = ld.create_user("bob")
    await ld.add_member(bob)
    async with run_bot(bot):
        await ld.set_command_permission("admin", "@everyone", True)
        await asyncio.wait_for(changed.wait(), 5)
        assert "admin" in names(ld.usable_commands("alice", "#general"))
        await ld.set_command_permission("admin", bob, False)
        assert "admin" not in names(ld.usable_commands(bob, "#general"))
        await ld.set_command_permission("*", ld.general, False)  # no commands in #general
        assert ld.usable_commands("alice", "#general") == []
        assert names(ld.usable_commands("owner", "#general", type=1)) == ["admin", "secret"]
        await ld.set_command_permission("*", ld.general, None)
        await ld.set_command_permission("admin", "@everyone", None)
        assert names(ld.usable_commands("alice", "#general", type=1)) == ["secret"]
        while len(updates) < 5:
            changed.clear()
            await asyncio.wait_for(changed.wait(), 5)
    admin_id = int(next(c for c in ld.commands() if c["name"] == "admin")["id"])
    everyone = ld.guild.id
    assert updates[0] == (admin_id, [(everyone, True)])
    assert updates[2] == (ld.application_id, [(ld.general.id, False)])
    assert updates[-1] == (admin_id, [(bob.id, False)])
