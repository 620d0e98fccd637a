"""Languages: a user's client locale rides on every interaction; localized commands are checked."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from local_discord import LocalDiscord
from local_discord.errors import DiscordError
from local_discord.localizations import is_command_name
from local_discord.rules import check_command
from tests.local_discord.conftest import RunBot


async def test_every_interaction_carries_the_users_client_locale(
    ld: LocalDiscord, bot_factory: Any, run_bot: RunBot
) -> None:
    """A slash command, a button press and a modal each arrive in the presser's language."""
    bot: commands.Bot = bot_factory()
    seen: list[tuple[str, str, str]] = []

    class Form(discord.ui.Modal, title="Form"):
        answer: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Answer", custom_id="a")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            seen.append(("modal", interaction.locale.value, str(interaction.guild_locale)))
            await interaction.response.send_message("thanks")

    class Buttons(discord.ui.View):
        @discord.ui.button(label="Open", custom_id="open")
        async def open(self, interaction: discord.Interaction, _button: Any) -> None:
            seen.append(("button", interaction.locale.value, str(interaction.guild_locale)))
            await interaction.response.send_modal(Form())

    @bot.tree.command(description="Say hi")
    async def hi(interaction: discord.Interaction) -> None:
        seen.append(("command", interaction.locale.value, str(interaction.guild_locale)))
        await interaction.response.send_message("hi", view=Buttons())

    german = ld.create_user("greta", locale="de")
    await ld.add_member(german)
    async with run_bot(bot):
        command = await ld.send_slash_command(german, ld.general, "hi")
        await command.wait_for_callback()
        message = ld.channel_messages(ld.general)[-1]
        press = await ld.click_button(german, message, "open")
        await press.wait_for_callback()
        submit = await ld.submit_modal(german, fields={"a": "ja"}, after=press)
        await submit.wait_for_callback()
        chinese = await ld.send_slash_command(ld.alice, ld.general, "hi", locale="zh-CN")
        await chinese.wait_for_callback()
    assert seen == [
        ("command", "de", "en-US"),
        ("button", "de", "en-US"),
        ("modal", "de", "en-US"),
        ("command", "zh-CN", "en-US"),
    ]


async def test_a_guilds_preferred_locale_is_its_guild_locale(ld: LocalDiscord) -> None:
    guild = await ld.create_guild("Tokyo", preferred_locale="ja", with_bot=False)
    assert guild.preferred_locale == "ja"
    with pytest.raises(ValueError, match="not a Discord locale"):
        ld.create_user("nobody", locale="xx-YY")


async def test_localized_commands_sync_and_read_back(
    ld: LocalDiscord, bot_factory: Any, run_bot: RunBot
) -> None:
    """discord.py's Translator output reaches Discord and comes back on fetch."""
    bot: commands.Bot = bot_factory()

    class German(app_commands.Translator):
        async def translate(
            self,
            string: app_commands.locale_str,
            locale: discord.Locale,
            context: app_commands.TranslationContextTypes,
        ) -> str | None:
            words = {"draw": "zeichnen", "Draw a picture": "Ein Bild zeichnen", "size": "größe"}
            return words.get(string.message) if locale is discord.Locale.german else None

    @bot.tree.command(description="Draw a picture")
    async def draw(interaction: discord.Interaction, size: int) -> None:
        await interaction.response.send_message(str(size))

    await bot.tree.set_translator(German())
    async with run_bot(bot):
        (stored,) = ld.commands()
    assert stored["name_localizations"] == {"de": "zeichnen"}
    assert stored["description_localizations"] == {"de": "Ein Bild zeichnen"}
    assert stored["options"][0]["name_localizations"] == {"de": "größe"}


def test_localizations_follow_discords_rules() -> None:
    """Unknown locales, bad names and overlong texts are 50035 errors, like the fields."""
    good = {
        "name": "imagine",
        "description": "Draw",
        "name_localizations": {"zh-CN": "画图", "de": "zeichnen", "hi": "चित्र", "th": "วาด"},
        "description_localizations": {"ja": "描く"},
        "options": [
            {
                "name": "ratio",
                "description": "Shape",
                "type": 3,
                "name_localizations": {"ru": "формат"},
                "choices": [
                    {"name": "square", "value": "1:1", "name_localizations": {"fr": "Carré 1:1"}}
                ],
            }
        ],
    }
    check_command(good, 0)
    check_command({"name": "Edit image", "type": 3, "name_localizations": {"de": "Bild Ändern"}}, 0)
    for bad in (
        {**good, "name_localizations": {"xx": "draw"}},
        {**good, "name_localizations": {"de": "Zeichnen"}},
        {**good, "name_localizations": {"de": "bild zeichnen"}},
        {**good, "name_localizations": {"de": "z" * 33}},
        {**good, "description_localizations": {"de": "d" * 101}},
        {**good, "options": [{**good["options"][0], "name_localizations": {"ru": "Формат"}}]},
        {
            **good,
            "options": [
                {
                    **good["options"][0],
                    "choices": [{"name": "a", "value": "a", "name_localizations": {"fr": ""}}],
                }
            ],
        },
    ):
        with pytest.raises(DiscordError):
            check_command(bad, 0)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("imagine", True),
        ("画图", True),
        ("参考画像2", True),
        ("참고-이미지", True),
        ("größe", True),
        ("référence", True),
        ("Größe", False),
        ("two words", False),
        ("emoji🎨", False),
        ("", False),
    ],
)
def test_the_name_rule(name: str, valid: bool) -> None:
    assert is_command_name(name) is valid
