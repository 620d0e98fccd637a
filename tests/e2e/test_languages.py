"""Members read Easel in their own language: the real bot, the local Discord, the sandbox.

A member's Discord client sends its language with every interaction; the local Discord does the
same for each user (``create_user(locale=...)``). A refusal, the job's progress and its result
are written in the requester's language; a second member in the same server reads their own.
"""

from __future__ import annotations

from typing import Any

import pytest

from local_discord import LocalDiscord, StoredMessage, User
from tests.e2e.conftest import Stack, final_embed, is_final

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CHANNEL_MESSAGE = 4
DEFERRED = 5
EPHEMERAL = 1 << 6
LOCALES = {"en-US", "zh-CN", "zh-TW", "ja", "ko", "es-ES", "pt-BR", "fr", "de", "ru"}


async def member(ld: LocalDiscord, name: str, locale: str) -> User:
    user = ld.create_user(name, locale=locale)
    await ld.add_member(user)
    return user


async def refusal(stack: Stack, user: User, **options: Any) -> str:
    """``/imagine`` answered at once, privately, with nothing sent upstream."""
    upstream = len(stack.sandbox.requests)
    handle = await stack.ld.send_slash_command(user, "#general", "imagine", options)
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.type == CHANNEL_MESSAGE and ack.data is not None
    assert int(ack.data.get("flags") or 0) & EPHEMERAL
    assert len(stack.sandbox.requests) == upstream
    return str(ack.data.get("content"))


async def job(stack: Stack, user: User, prompt: str) -> StoredMessage:
    """``/imagine`` to the end; the final message (its history holds the progress)."""
    handle = await stack.ld.send_slash_command(user, "#general", "imagine", {"prompt": prompt})
    assert (await handle.wait_for_callback(timeout=5)).type == DEFERRED
    return await handle.wait_for_original(is_final, timeout=20)


def titles(message: StoredMessage) -> list[str]:
    """Every embed title the message showed, from "thinking…" to the result."""
    return [
        str(embed.get("title", ""))
        for version in message.versions
        for embed in version.payload.get("embeds") or []
    ]


def labels(message: StoredMessage) -> list[str]:
    return [
        str(component.get("label") or component.get("placeholder"))
        for row in message.components
        for component in row.get("components", [])
    ]


async def test_a_chinese_member_reads_chinese_and_a_german_member_german(
    stack: Stack, clean_log: None
) -> None:
    ld = stack.ld
    mei = await member(ld, "mei", "zh-CN")
    greta = await member(ld, "greta", "de")

    text = await refusal(stack, mei, prompt="a lighthouse", ratio="1:1", resolution="4K")
    assert text.startswith("⚠️ 1:1 在 4K 下不可用。"), text
    assert "请选择" in text and "not available" not in text

    chinese = await job(stack, mei, "a lighthouse at dusk")
    shown = titles(chinese)
    assert any(title.startswith("🎨 ") and "…" in title for title in shown), shown
    assert any(t in " ".join(shown) for t in ("排队中", "生成中", "正在开始", "已提交")), shown
    result = final_embed(chinese)
    assert result["title"] == "✅ 1 张图片已完成"
    assert {field["name"] for field in result["fields"]} >= {"设置", "请求者", "耗时"}
    assert {"重新生成", "变体", "放大", "编辑", "删除"} <= set(labels(chinese))
    assert "> a lighthouse at dusk" in result["description"], "prompts are never translated"

    german = await job(stack, greta, "a lighthouse at dawn")
    result = final_embed(german)
    assert result["title"] == "✅ 1 Bild fertig"
    assert {field["name"] for field in result["fields"]} >= {"Einstellungen", "Angefragt von"}
    assert {"Neu würfeln", "Variieren", "Löschen"} <= set(labels(german))
    progress = [t for t in titles(german) if t.startswith("🎨 ")]
    german_words = ("Warteschlange", "Wird erstellt", "Wird gestartet", "Gesendet", "In Arbeit")
    assert progress and all(any(w in t for w in german_words) for t in progress), progress
    text = await refusal(stack, greta, prompt="x", ratio="1:1", resolution="4K")
    assert "ist bei 4K nicht verfügbar" in text


async def test_a_server_language_wins_over_each_members_own(stack: Stack, clean_log: None) -> None:
    ld = stack.ld
    kenji = await member(ld, "kenji", "ko")
    handle = await ld.send_slash_command(
        "owner", "#general", "easel", {"language": "ja"}, subcommand="language"
    )
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.data is not None and "日本語" in str(ack.data.get("content"))
    try:
        text = await refusal(stack, kenji, prompt="x", ratio="1:1", resolution="4K")
        assert "4K では使えません" in text, text
    finally:
        handle = await ld.send_slash_command(
            "owner", "#general", "easel", {"language": "auto"}, subcommand="language"
        )
        await handle.wait_for_callback(timeout=5)
    text = await refusal(stack, kenji, prompt="x", ratio="1:1", resolution="4K")
    assert "4K에서 사용할 수 없습니다" in text, text


async def test_the_synced_commands_carry_all_ten_languages(stack: Stack) -> None:
    """What the bot synced to Discord: every command, option and choice, in ten languages."""
    synced = stack.ld.synced_commands[None]
    missing: list[str] = []

    def check(item: dict[str, Any], path: str, *, description: bool) -> None:
        names = set(item.get("name_localizations") or {})
        if not names >= LOCALES:
            missing.append(f"{path} name: {sorted(LOCALES - names)}")
        if description:
            texts = set(item.get("description_localizations") or {})
            if not texts >= LOCALES:
                missing.append(f"{path} description: {sorted(LOCALES - texts)}")

    def walk(options: list[dict[str, Any]], path: str) -> None:
        for option in options:
            where = f"{path} {option['name']}"
            check(option, where, description=True)
            for choice in option.get("choices") or []:
                check(choice, f"{where}={choice['value']}", description=False)
            walk(option.get("options") or [], where)

    assert {command["name"] for command in synced} >= {"imagine", "edit", "blend", "easel"}
    for command in synced:
        check(command, command["name"], description=command.get("type", 1) == 1)
        walk(command.get("options") or [], command["name"])
    assert missing == []
    imagine = next(c for c in synced if c["name"] == "imagine")
    assert imagine["description_localizations"]["zh-CN"] == "根据提示词生成图片"
    prompt = next(o for o in imagine["options"] if o["name"] == "prompt")
    assert prompt["name_localizations"]["ja"] == "プロンプト"
    menu = next(c for c in synced if c.get("type") == 3)
    assert menu["name_localizations"]["de"] == "Bild bearbeiten"
