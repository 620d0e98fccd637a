"""Who reads what: the interaction's locale, the job's stored locale, the server's language."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import discord
import pytest
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import Lang
from bot.jobs.models import JobRequest
from bot.jobs.records import Delivery
from bot.options import Ratio
from bot.policy.defaults import JobDefaults
from cogs._i18n import (
    EaselTranslator,
    is_valid_name,
    lang_for_job,
    language_choices,
    localize,
    split_numbered,
)
from cogs._moderation_log import audit_embed
from tests.cogs.conftest import Harness
from tests.cogs.policy_support import answer, as_member, easel, run_job, text_of
from tests.cogs.policy_support import imagine as member_imagine
from tests.cogs.policy_support import option as typed
from tests.cogs.test_budget import price
from tests.cogs.test_imagine import embed, has_final, imagine, option, run
from tests.cogs.test_usage import report, usage
from tests.support.discord_harness import CHANNEL_ID, GUILD_ID, USER_ID, slash_command_payload


def localized(payload: dict[str, Any], locale: str, guild_locale: str = "en-US") -> dict[str, Any]:
    return {**payload, "locale": locale, "guild_locale": guild_locale}


async def test_an_answer_is_in_the_members_language(harness: Harness) -> None:
    calls = await run(
        harness,
        localized(imagine("x", option("ratio", "1:1"), option("resolution", "4K")), "fr"),
        done=lambda calls: any(call.is_callback for call in calls),
    )
    answer = calls[0].payload
    assert answer is not None and answer["type"] == 4
    assert answer["data"]["content"].startswith("⚠️ 1:1 n'est pas disponible en 4K.")


async def test_a_job_is_rendered_in_its_requesters_language_and_remembers_it(
    harness: Harness,
) -> None:
    calls = await run(harness, localized(imagine("a red fox"), "es-419"))
    final = [call for call in calls if call.is_original_edit and call.files][-1]
    assert embed(final)["title"] == "✅ 1 imagen lista"
    assert final.payload is not None
    buttons = [c["label"] for row in final.payload["components"] for c in row["components"]]
    assert {"Repetir", "Variar", "Ampliar", "Editar", "Borrar"} <= set(buttons)
    (job,) = await harness.bot.engine.recent_jobs(USER_ID, guild_id=GUILD_ID, limit=1)
    assert job.locale == "es-419"


async def test_a_message_sent_without_an_interaction_uses_the_stored_locale(
    harness: Harness,
) -> None:
    """Past the token (here: none at all) the job is posted through the channel, in Russian."""
    bot = harness.bot
    resolved = bot.engine.validate(JobRequest(prompt="a quiet harbour"))
    job = await bot.engine.accept(
        resolved,
        origin="discord",
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=USER_ID,
        delivery=Delivery(application_id=bot.application_id or 1),
        locale="ru",
    )
    async with asyncio.timeout(20):
        while True:
            stored = await bot.engine.get_job(job.id)
            if stored is not None and stored.notified:
                break
            await asyncio.sleep(0.1)
    posts = [json for method, _path, json in harness.bot_http.calls if method == "POST" and json]
    assert any(str(p.get("content", "")).endswith("ваше задание:") for p in posts), posts
    bodies = [json for _method, _path, json in harness.bot_http.calls if json]
    titles = [embed.get("title") for body in bodies for embed in body.get("embeds", [])]
    assert "✅ 1 изображение готово" in titles, titles


async def test_the_servers_language_wins_and_the_log_follows_it(harness: Harness) -> None:
    bot = harness.bot
    await bot.policy.update(GUILD_ID, by=None, language="ko")
    try:
        assert lang_for_job(bot, GUILD_ID, "de").code == "ko"
        calls = await run(
            harness,
            localized(imagine("x", option("ratio", "1:1"), option("resolution", "4K")), "de"),
            done=lambda calls: any(call.is_callback for call in calls),
        )
        assert calls[0].payload is not None
        assert "4K에서 사용할 수 없습니다" in calls[0].payload["data"]["content"]
    finally:
        await bot.policy.update(GUILD_ID, by=None, language=None)
    assert lang_for_job(bot, GUILD_ID, "de").code == "de"
    assert lang_for_job(bot, GUILD_ID, None).code == "en-US"  # no guild cached: English


async def test_the_moderation_log_is_written_in_the_servers_language(harness: Harness) -> None:
    from bot.policy.records import AuditEntry

    entry = AuditEntry(guild_id=GUILD_ID, event="settings", day="2026-01-01", user_id=1)
    shown = audit_embed(entry, None, Lang.of("pt-BR")).to_dict()
    assert shown["title"] == "⚙️ Configurações alteradas"
    assert shown["fields"][0]["name"] == "Por"


async def test_an_unknown_server_language_is_refused_in_plain_words(harness: Harness) -> None:
    from bot.errors import InputError

    with pytest.raises(InputError, match="does not speak"):
        await harness.bot.policy.update(GUILD_ID, by=None, language="tlh")


def test_numbered_options_share_their_base_names_translation() -> None:
    assert split_numbered("reference10") == ("reference", "10")
    assert split_numbered("n") == ("n", "")
    assert localize("reference7", "zh-CN", Where.parameter_name) == "参考图7"
    assert localize("image2", "de", Where.parameter_name) == "bild2"


def test_a_translated_name_that_breaks_discords_rules_is_never_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One bad name would fail the whole sync: English is sent instead, and it is logged."""
    monkeypatch.setattr(Lang, "pgettext", lambda self, context, message: "Zwei Wörter")
    assert localize("prompt", "de", Where.parameter_name) is None
    monkeypatch.setattr(Lang, "pgettext", lambda self, context, message: "x" * 101)
    assert localize("What to draw", "de", Where.parameter_description) is None
    assert not is_valid_name("zwei wörter") and is_valid_name("größe")


async def test_language_choices_are_named_in_themselves_and_in_the_reader_language() -> None:
    choices = {choice.value: choice for choice in language_choices()}
    assert choices["ja"].name == "日本語 · Japanese"
    assert choices["en-US"].name == "English"
    translator = EaselTranslator()
    context = discord.app_commands.TranslationContext(
        location=Where.choice_name, data=choices["ja"]
    )
    got = await translator.translate(
        discord.app_commands.locale_str(choices["ja"].name), discord.Locale.german, context
    )
    assert got == "日本語 · Japanisch"
    got = await translator.translate(
        discord.app_commands.locale_str(choices["ja"].name), discord.Locale.japanese, context
    )
    assert got == "日本語"


async def test_results_posted_after_a_language_change_follow_the_new_language(
    harness: Harness,
) -> None:
    await harness.bot.policy.update(GUILD_ID, by=None, language="pt-BR")
    try:
        calls = await run(harness, localized(imagine("a kite"), "ja"), done=has_final)
    finally:
        await harness.bot.policy.update(GUILD_ID, by=None, language=None)
    final = [call for call in calls if call.is_original_edit and call.files][-1]
    assert embed(final)["title"] == "✅ 1 imagem pronta"


async def test_a_changed_translation_is_synced_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "unchanged, not syncing" fingerprint covers every language, not just the English."""
    bot = harness.bot
    synced: list[int] = []

    async def sync(*, guild: Any = None) -> list[Any]:
        synced.append(1)
        return []

    monkeypatch.setattr(bot.tree, "sync", sync)
    await bot.sync_commands_if_changed()
    await bot.sync_commands_if_changed()
    assert len(synced) == 1
    original = Lang.pgettext

    def corrected(self: Lang, context: str, message: str) -> str:
        found = original(self, context, message)
        return (
            "Bilder erzeugen"
            if self.code == "de" and found == "Bilder aus einem Prompt erzeugen"
            else found
        )

    monkeypatch.setattr(Lang, "pgettext", corrected)
    await bot.sync_commands_if_changed()
    assert len(synced) == 2


async def test_budgets_defaults_and_spend_are_in_the_readers_language(harness: Harness) -> None:
    """A German admin types a decimal comma; a German member is refused in German; a Chinese
    member's job says which defaults it used, in Chinese; /usage and /settings follow."""
    bot = harness.bot
    price(harness, "0.04")
    said = text_of(
        await answer(
            harness, localized(easel("server", typed("daily", "0,10"), group="budget"), "de")
        )
    )
    assert "Budget des Servers: 0.10 USD pro Tag" in said, said
    assert bot.policy.settings(GUILD_ID).server_budget.daily == Decimal("0.10")
    await run_job(harness, localized(member_imagine("two foxes", n=2), "de"))  # 0.08
    refused = text_of(await answer(harness, localized(member_imagine("two more", n=2), "de")))
    assert "Dieser Server hat noch 0.02 USD von seinem Tagesbudget von 0.10 USD" in refused
    own = text_of(await report(harness, localized(usage(), "de")))
    assert "Ausgegeben: 0.08 USD heute" in own and "Budget des Servers:" in own

    await bot.policy.update(
        GUILD_ID, by=1, server_budget=bot.policy.settings(GUILD_ID).member_budget
    )
    await bot.policy.update(GUILD_ID, by=1, defaults=JobDefaults(ratio=Ratio.TALL_9_16))
    final = await run_job(harness, localized(member_imagine("a tall fox"), "zh-CN"))
    shown = text_of(final)
    assert "使用的默认值" in shown and "9:16（服务器默认值）" in shown, shown
    mine = text_of(await answer(harness, localized(as_settings(), "zh-CN")))
    assert "你的 Easel 默认值" in mine and "服务器：9:16" in mine, mine


def as_settings() -> dict[str, Any]:
    return as_member(slash_command_payload("settings", []))


async def test_the_moderation_logs_details_are_in_the_servers_language(harness: Harness) -> None:
    """Blocked terms, budget details and failure kinds are written for the log's readers."""
    from bot.i18n import _
    from bot.policy.records import AuditEntry

    entries: list[AuditEntry] = []

    def heard(entry: AuditEntry, job: object) -> None:
        entries.append(entry)

    harness.bot.policy.subscribe(heard)
    try:
        await harness.bot.policy.add_term(GUILD_ID, "gore", by=USER_ID)
        await harness.bot.policy.remove_term(GUILD_ID, "gore", by=USER_ID)
    finally:
        harness.bot.policy.unsubscribe(heard)
    german = Lang.of("de")
    details = [audit_embed(e, None, german).to_dict()["fields"][-1]["value"] for e in entries]
    assert details == ["hat einen Begriff gesperrt (4 Zeichen)", "hat einen Begriff entsperrt"]
    failed = AuditEntry(guild_id=GUILD_ID, event="failed", day="2026-01-01", rule="timeout")
    french = Lang.of("fr")
    title = audit_embed(failed, None, french).to_dict()["title"]
    assert french(_("timed out")) in title and "timed out" not in title
