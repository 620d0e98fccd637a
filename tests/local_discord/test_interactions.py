"""Interactions end to end through a real discord.py bot: commands, responses, deadlines, UI."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from local_discord import LocalDiscord

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_sync_is_stored_with_stable_ids(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """``tree.sync()`` PUTs the commands; ids survive a re-sync; fetch returns the same."""
    bot = bot_factory()

    @bot.tree.command(name="imagine", description="Draw", nsfw=True)
    @app_commands.describe(prompt="What to draw")
    async def imagine(interaction: discord.Interaction, prompt: str, count: int = 1) -> None:
        await interaction.response.send_message(prompt)

    bot.tree.add_command(
        app_commands.ContextMenu(name="Edit this image", callback=_noop_message_menu)
    )
    guild = discord.Object(ld.guild.id)
    bot.tree.copy_global_to(guild=guild)
    async with run_bot(bot) as bot:
        synced = await bot.tree.sync(guild=guild)
        fetched = await bot.tree.fetch_commands()
        again = await bot.tree.sync()
    globals_ = ld.synced_commands[None]
    assert {(c["name"], c["type"]) for c in globals_} == {("imagine", 1), ("Edit this image", 3)}
    imagine_def = next(c for c in globals_ if c["name"] == "imagine")
    assert imagine_def["nsfw"] is True
    assert [(o["name"], o["type"], o.get("required", False)) for o in imagine_def["options"]] == [
        ("prompt", 3, True),
        ("count", 4, False),
    ]
    assert {c.id for c in fetched} == {int(c["id"]) for c in globals_} == {c.id for c in again}
    assert {c.guild_id for c in synced} == {ld.guild.id}
    assert len(ld.commands(ld.guild)) == 2
    assert [r.method for r in ld.requests_to("/applications/{application_id}/commands")] == [
        "PUT",
        "GET",
        "PUT",
    ]


async def _noop_message_menu(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.send_message("ok")


async def test_invalid_definitions_fail_sync_with_50035(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """26 choices is over Discord's limit: discord.py raises CommandSyncFailure."""
    bot = bot_factory()
    choices = [app_commands.Choice(name=f"c{i}", value=str(i)) for i in range(26)]

    @bot.tree.command(name="style", description="Pick")
    @app_commands.choices(style=choices)
    async def style(interaction: discord.Interaction, style: str) -> None:
        await interaction.response.send_message(style)

    async with run_bot(bot, sync=False) as bot:
        with pytest.raises(app_commands.CommandSyncFailure) as info:
            await bot.tree.sync()
    assert info.value.code == 50035
    assert "In parameter 'style'" in str(info.value)  # discord.py maps Discord's error tree
    assert "choices: Must be 25 or fewer in length." in str(info.value)
    assert ld.synced_commands == {}


async def test_options_arrive_typed_and_the_attachment_downloads(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot], png: Any
) -> None:
    """String/int/float/bool/user/channel/role/attachment options reach the callback typed."""
    bot = bot_factory()
    got: dict[str, Any] = {}

    @bot.tree.command(name="imagine", description="Draw")
    async def imagine(
        interaction: discord.Interaction,
        prompt: str,
        steps: app_commands.Range[int, 1, 50],
        scale: float,
        hd: bool,
        who: discord.Member,
        where: discord.TextChannel,
        role: discord.Role,
        image: discord.Attachment,
    ) -> None:
        await interaction.response.defer()
        got.update(
            prompt=prompt,
            steps=steps,
            scale=scale,
            hd=hd,
            who=who,
            where=where,
            role=role,
            image=image,
            data=await image.read(),
            limit=interaction.filesize_limit,
            perms=interaction.permissions,
            app_perms=interaction.app_permissions,
            command_id=interaction.command_id,
            user=interaction.user,
        )
        await interaction.followup.send("ok")

    image = png(7, 5)
    role = await ld.create_role("Artists")
    async with run_bot(bot):
        handle = await ld.send_slash_command(
            ld.alice,
            ld.general,
            "imagine",
            {
                "prompt": "a cat",
                "steps": 30,
                "scale": 7.5,
                "hd": True,
                "who": "owner",
                "where": ld.general,
                "role": role,
            },
            attachments=[("cat.png", image, "image/png")],
            attachment_size_limit=25 * 1024 * 1024,
        )
        await handle.wait_for_followups()
    assert (got["prompt"], got["steps"], got["scale"], got["hd"]) == ("a cat", 30, 7.5, True)
    assert isinstance(got["who"], discord.Member) and got["who"].id == ld.owner.id
    assert isinstance(got["where"], discord.TextChannel) and got["where"].id == ld.general.id
    assert isinstance(got["role"], discord.Role) and got["role"].name == "Artists"
    att = got["image"]
    assert (att.filename, att.content_type, att.size, att.width, att.height) == (
        "cat.png",
        "image/png",
        len(image),
        7,
        5,
    )
    assert att.ephemeral and got["data"] == image
    assert got["limit"] == 25 * 1024 * 1024
    assert got["command_id"] == int(ld.synced_commands[None][0]["id"])
    assert isinstance(got["user"], discord.Member) and got["user"].id == ld.alice.id
    assert got["perms"].send_messages and not got["perms"].administrator
    assert got["app_perms"].value == ld.permissions(ld.general)
    options = handle.payload["data"]["options"]
    assert [(o["name"], o["type"]) for o in options][:4] == [
        ("prompt", 3),
        ("steps", 4),
        ("scale", 10),
        ("hd", 5),
    ]


async def test_driver_applies_client_side_checks(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Like the Discord client: unknown/missing options and out-of-range values are refused."""
    bot = bot_factory()
    got: list[int] = []

    @bot.tree.command(name="steps", description="Steps")
    async def steps(interaction: discord.Interaction, n: app_commands.Range[int, 1, 50]) -> None:
        got.append(n)
        await interaction.response.send_message(str(n))

    async with run_bot(bot):
        with pytest.raises(ValueError, match="unknown option"):
            await ld.send_slash_command(ld.alice, ld.general, "steps", {"m": 1})
        with pytest.raises(ValueError, match="missing required"):
            await ld.send_slash_command(ld.alice, ld.general, "steps")
        with pytest.raises(ValueError, match="outside"):
            await ld.send_slash_command(ld.alice, ld.general, "steps", {"n": 500})
        handle = await ld.send_slash_command(
            ld.alice, ld.general, "steps", {"n": 500}, validate=False
        )
        await handle.wait_for_callback()
    assert got == [500]


async def test_subcommand_groups(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """``subcommand="group sub"`` nests the options the way Discord does."""
    bot = bot_factory()
    admin = app_commands.Group(name="admin", description="Admin")
    quota = app_commands.Group(name="quota", description="Quota", parent=admin)
    got: list[tuple[str, int]] = []

    @quota.command(name="set", description="Set")
    async def set_quota(interaction: discord.Interaction, user: discord.User, daily: int) -> None:
        got.append((user.name, daily))
        await interaction.response.send_message("ok", ephemeral=True)

    bot.tree.add_command(admin)
    async with run_bot(bot):
        handle = await ld.send_slash_command(
            ld.owner, ld.general, "admin", {"user": ld.alice, "daily": 5}, subcommand="quota set"
        )
        original = await handle.wait_for_original()
    assert got == [("alice", 5)]
    assert original.ephemeral and original.content == "ok"
    assert ld.channel_messages(ld.general) == []


async def test_defer_edit_then_followup_with_files_is_recorded(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot], png: Any
) -> None:
    """defer → edit_original_response (progress) → followup with files: every version is kept."""
    bot = bot_factory()
    image = png(2, 2)

    @bot.tree.command(name="imagine", description="Draw")
    async def imagine(interaction: discord.Interaction, prompt: str) -> None:
        response = await interaction.response.defer(thinking=True)
        assert response is not None and response.is_thinking() and response.message_id
        await interaction.edit_original_response(content="Queued…")
        await interaction.edit_original_response(content="50%")
        msg = await interaction.edit_original_response(
            content=f"Done: {prompt}",
            attachments=[discord.File(io.BytesIO(image), filename="result.png")],
            allowed_mentions=discord.AllowedMentions.none(),
        )
        assert msg.attachments[0].filename == "result.png"
        await interaction.followup.send(
            "Variations",
            files=[discord.File(io.BytesIO(image), filename=f"v{i}.png") for i in range(3)],
            wait=True,
        )

    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "imagine", {"prompt": "a fox"})
        await handle.wait_for_followups()
    (ack,) = handle.callbacks
    assert ack.type == 5 and ack.accepted and 0 <= ack.latency < 1
    original = handle.original
    assert original is not None and not original.loading
    assert [v.kind for v in original.versions] == ["create", "edit", "edit", "edit"]
    assert [v.payload["content"] for v in original.versions] == [
        "",
        "Queued…",
        "50%",
        "Done: a fox",
    ]
    assert original.versions[0].payload["flags"] & 128  # LOADING
    ats = [v.at for v in original.versions]
    assert ats == sorted(ats)
    assert original.allowed_mentions == {"parse": []}  # recorded exactly as discord.py sent it
    assert [a.filename for a in original.attachments] == ["result.png"]
    (followup,) = handle.followups
    assert followup.content == "Variations"
    assert [(a.filename, a.width) for a in followup.attachments] == [
        ("v0.png", 2),
        ("v1.png", 2),
        ("v2.png", 2),
    ]
    assert ld.attachment_data(followup.attachments[1]) == image
    assert followup.interaction_metadata is not None
    assert followup.interaction_metadata["original_response_message_id"] == str(original.id)
    async with aiohttp.ClientSession() as session, session.get(followup.attachments[0].url) as r:
        assert r.status == 200 and await r.read() == image
    post = ld.requests_to("/webhooks/{application_id}/{token}", "POST")[0]
    assert [f.filename for f in post.files] == ["v0.png", "v1.png", "v2.png"]
    assert post.json["content"] == "Variations"
    assert [m.id for m in ld.channel_messages(ld.general)] == [original.id, followup.id]


async def test_first_followup_after_thinking_defer_replaces_the_loading_message(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Discord's documented quirk: the first follow-up after a type-5 defer edits @original."""
    bot = bot_factory()
    ids: list[int] = []

    @bot.tree.command(name="slow", description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        first = await interaction.followup.send("first", wait=True)
        second = await interaction.followup.send("second", wait=True)
        ids.extend([first.id, second.id])

    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "slow")
        await handle.wait_for_followups(2)
    original = handle.original
    assert original is not None and ids[0] == original.id and ids[1] != original.id
    assert original.ephemeral and original.content == "first"
    assert handle.followups[1].ephemeral is False


async def test_response_after_three_seconds_is_unknown_interaction(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """The controllable clock passes 3 s before the bot answers: 404 / 10062."""
    bot = bot_factory()
    entered, release = asyncio.Event(), asyncio.Event()
    errors: list[discord.HTTPException] = []

    @bot.tree.command(name="late", description="Late")
    async def late(interaction: discord.Interaction) -> None:
        entered.set()
        await release.wait()
        try:
            await interaction.response.defer()
        except discord.NotFound as exc:
            errors.append(exc)

    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "late")
        await asyncio.wait_for(entered.wait(), 5)
        assert not handle.missed_deadline
        ld.clock.advance(3.01)
        assert handle.missed_deadline
        release.set()
        await handle.wait_for(lambda h: bool(h.callbacks))
    assert [(e.status, e.code) for e in errors] == [(404, 10062)]
    assert handle.callbacks[0].error_code == 10062 and not handle.acknowledged


async def test_second_acknowledgement_is_40060(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Discord refuses a second initial response with 400 / 40060."""
    bot = bot_factory()
    errors: list[discord.HTTPException] = []

    @bot.tree.command(name="twice", description="Twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        interaction.response._response_type = None  # bypass discord.py's own guard on purpose
        try:
            await interaction.response.send_message("again")
        except discord.HTTPException as exc:
            errors.append(exc)

    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "twice")
        await handle.wait_for(lambda h: len(h.callbacks) == 2)
    assert [(e.status, e.code) for e in errors] == [(400, 40060)]
    assert [(c.type, c.status) for c in handle.callbacks] == [(5, 200), (4, 400)]


async def test_token_dies_after_15_minutes_and_the_bot_token_fallback_works(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """After 15 min the webhook answers 401 / 50027; editing through the channel still works."""
    bot = bot_factory()
    stage = asyncio.Event()
    outcome: dict[str, Any] = {}

    @bot.tree.command(name="long", description="Long job")
    async def long_job(interaction: discord.Interaction) -> None:
        response = await interaction.response.defer(thinking=True)
        assert response is not None
        channel_id, message_id = interaction.channel_id, response.message_id
        await stage.wait()
        try:
            await interaction.edit_original_response(content="done (webhook)")
        except discord.HTTPException as exc:
            outcome["error"] = (exc.status, exc.code)
            assert channel_id is not None and message_id is not None
            partial = interaction.client.get_partial_messageable(channel_id)
            edited = await partial.get_partial_message(message_id).edit(content="done (bot token)")
            outcome["edited"] = edited.content

    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "long")
        await handle.wait_for_callback()
        ld.clock.advance(15 * 60 + 1)
        assert handle.expired
        stage.set()
        await handle.wait_for_original(lambda m: not m.loading)
    assert outcome == {"error": (401, 50027), "edited": "done (bot token)"}
    assert handle.original is not None
    assert (
        handle.original.versions[-1].route == "PATCH /channels/{channel_id}/messages/{message_id}"
    )


async def test_ephemeral_messages_are_invisible_to_channel_endpoints(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Ephemeral responses cannot be fetched or edited with the bot token (10008)."""
    bot = bot_factory()
    result: list[Any] = []
    done = asyncio.Event()

    @bot.tree.command(name="secret", description="Secret")
    async def secret(interaction: discord.Interaction) -> None:
        response = await interaction.response.send_message("psst", ephemeral=True)
        assert response is not None and response.message_id is not None
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        try:
            await channel.fetch_message(response.message_id)
        except discord.NotFound as exc:
            result.append(exc.code)
        finally:
            done.set()

    async with run_bot(bot):
        handle = await ld.send_slash_command(ld.alice, ld.general, "secret")
        await asyncio.wait_for(done.wait(), 5)
    assert result == [10008]
    assert handle.original is not None and handle.original.ephemeral


async def test_modal_submit_reaches_on_submit(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """send_modal (type 9) then ``ld.submit_modal(after=handle)``: on_submit sees the values."""
    bot = bot_factory()
    submitted: list[tuple[str, str]] = []

    class PromptModal(discord.ui.Modal, title="Edit image"):
        prompt = discord.ui.TextInput(label="Prompt", custom_id="prompt")
        negative = discord.ui.TextInput(label="Avoid", custom_id="negative", required=False)

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted.append((self.prompt.value, self.negative.value))
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=f"editing: {self.prompt.value}")

    @bot.tree.command(name="edit", description="Edit")
    async def edit(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PromptModal())

    async with run_bot(bot):
        opened = await ld.send_slash_command(ld.alice, ld.general, "edit")
        await opened.wait_for_callback()
        assert opened.modal is not None and opened.modal["title"] == "Edit image"
        submit = await ld.submit_modal(ld.alice, fields={"prompt": "make it blue"}, after=opened)
        original = await submit.wait_for_original(lambda m: m.content.startswith("editing"))
    assert submitted == [("make it blue", "")]
    assert original.content == "editing: make it blue"
    assert submit.parent is opened and submit.callbacks[0].type == 5
    # What opened the form is named on the answer, as clients show it ("alice used /edit").
    metadata = original.payload()["interaction_metadata"]
    assert metadata["type"] == 5
    assert metadata["triggering_interaction_metadata"]["name"] == "edit"
    assert metadata["triggering_interaction_metadata"]["id"] == str(opened.id)


async def test_persistent_view_and_dynamic_item_clicks(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Buttons on a bot message: a persistent view and a DynamicItem both receive the click."""
    clicks: list[str] = []

    class Controls(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="Upscale", custom_id="ctl:upscale")
        async def upscale(
            self, interaction: discord.Interaction, button: discord.ui.Button[Any]
        ) -> None:
            clicks.append("upscale")
            await interaction.response.edit_message(content="upscaling", view=None)

    class Reroll(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"reroll:(?P<job>\w+)"):
        def __init__(self, job: str) -> None:
            super().__init__(discord.ui.Button(label="Reroll", custom_id=f"reroll:{job}"))
            self.job = job

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction,
            item: discord.ui.Button[Any],
            match: re.Match[str],
        ) -> Reroll:
            return cls(match["job"])

        async def callback(self, interaction: discord.Interaction) -> None:
            clicks.append(f"reroll {self.job}")
            await interaction.response.send_message(f"rerolling {self.job}", ephemeral=True)

    class Bot(commands.Bot):
        async def setup_hook(self) -> None:
            self.add_view(Controls())
            self.add_dynamic_items(Reroll)

    bot = Bot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        guild_ready_timeout=0.01,
    )

    @bot.tree.command(name="show", description="Show")
    async def show(interaction: discord.Interaction) -> None:
        view = Controls()
        view.add_item(Reroll("job42"))
        await interaction.response.send_message("result", view=view)

    async with run_bot(bot):
        shown = await ld.send_slash_command(ld.alice, ld.general, "show")
        message = await shown.wait_for_original()
        assert set(message.custom_ids()) == {"ctl:upscale", "reroll:job42"}
        reroll = await ld.click_button(ld.alice, message, "reroll:job42")
        await reroll.wait_for_callback()
        upscale = await ld.click_button(ld.alice, message, "ctl:upscale")
        await upscale.wait_for_callback()
    assert clicks == ["reroll job42", "upscale"]
    assert reroll.callbacks[0].type == 4 and reroll.original is not None
    assert reroll.original.ephemeral and reroll.original.type == 19
    assert upscale.callbacks[0].type == 7 and upscale.original is message
    assert message.content == "upscaling" and message.components == []
    with pytest.raises(LookupError):
        await ld.click_button(ld.alice, message, "ctl:upscale")


async def test_message_context_menu_resolves_the_target_with_attachments(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot], png: Any
) -> None:
    """ "Edit this image" receives the user's message and can download its attachment."""
    bot = bot_factory()
    got: dict[str, Any] = {}

    async def edit_image(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        att = message.attachments[0]
        got.update(
            author=message.author.id,
            content=message.content,
            name=att.filename,
            size=(att.width, att.height),
            data=await att.read(),
        )
        await interaction.followup.send("got it")

    bot.tree.add_command(app_commands.ContextMenu(name="Edit this image", callback=edit_image))
    image = png(16, 9)
    async with run_bot(bot):
        message = await ld.post_message(
            ld.alice, ld.general, "my cat", attachments=[("cat.png", image, "image/png")]
        )
        handle = await ld.use_message_command(ld.alice, ld.general, "Edit this image", message)
        await handle.wait_for_followups()
    assert got == {
        "author": ld.alice.id,
        "content": "my cat",
        "name": "cat.png",
        "size": (16, 9),
        "data": image,
    }


async def test_autocomplete_results_are_recorded(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Type-4 interactions carry the focused option; the type-8 choices are kept on the handle."""
    bot = bot_factory()

    @bot.tree.command(name="model", description="Model")
    async def model(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    @model.autocomplete("name")
    async def model_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["gpt-image-2", "gpt-image-1", "dall-e-3"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    async with run_bot(bot):
        handle = await ld.autocomplete(
            ld.alice, ld.general, "model", {"name": "gpt"}, focused="name"
        )
        await handle.wait_for_callback()
    assert handle.autocomplete_choices == [
        {"name": "gpt-image-2", "value": "gpt-image-2"},
        {"name": "gpt-image-1", "value": "gpt-image-1"},
    ]


async def test_autocomplete_sends_the_focused_option_even_before_anything_is_typed(
    ld: LocalDiscord, run_bot: Any, bot_factory: Callable[..., commands.Bot]
) -> None:
    """Discord's client asks as soon as the option is focused: an empty value, marked focused."""
    bot = bot_factory()
    asked: list[str] = []

    @bot.tree.command(name="model", description="Model")
    async def model(interaction: discord.Interaction, name: str, size: str = "") -> None:
        await interaction.response.send_message(name)

    @model.autocomplete("size")
    async def sizes(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        asked.append(current)
        return [app_commands.Choice(name="1K", value="1K")]

    async with run_bot(bot):
        handle = await ld.autocomplete(ld.alice, ld.general, "model", {"name": "x"}, focused="size")
        await handle.wait_for_callback()
        with pytest.raises(ValueError, match="no option 'style'"):
            await ld.autocomplete(ld.alice, ld.general, "model", {}, focused="style")
    assert asked == [""]
    sent = handle.payload["data"]["options"]
    assert sent == [
        {"name": "name", "type": 3, "value": "x"},
        {"name": "size", "type": 3, "value": "", "focused": True},
    ]
