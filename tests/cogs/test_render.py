"""Embeds: prompts shown as they read (no override, nothing hidden); shortfalls said plainly."""

from __future__ import annotations

import discord

from bot.i18n import Lang, literal, source_lang
from bot.jobs.models import JobCompleted, JobRequest, ResolvedRequest, ResultImage
from bot.options import OutputFormat, Resolution
from cogs._render import quote_prompt, result_embed


def test_a_direction_override_is_shown_resolved_and_never_reaches_discord() -> None:
    shown = quote_prompt("a \u202edrowdab\u202c dog and more")
    assert shown == "a badword dog and more"
    assert not any(ch in shown for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_invisible_characters_are_not_shown() -> None:
    assert quote_prompt("a\u200b red\u2060 fox\U000e0041") == "a red fox"


def test_markdown_and_mentions_stay_neutralised() -> None:
    shown = quote_prompt("**bold** @every\u200bone")
    assert "\\*\\*bold\\*\\*" in shown
    assert "@everyone" not in shown


def one_of_three(prompt: str, tr: Lang, missing_reason: str | None = None) -> discord.Embed:
    """The result embed of a job that asked for three images and got one."""
    image = ResultImage(
        filename="a.png", data=b"", width=1024, height=1024, output_format=OutputFormat.PNG
    )
    done = JobCompleted(
        task_id="t", images=(image,), elapsed=3, missing=2, missing_reason=missing_reason
    )
    resolved = ResolvedRequest(
        request=JobRequest(prompt=prompt, n=3),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
    )
    return result_embed(
        resolved,
        done.images,
        requester="<@1>",
        elapsed=3,
        label=literal("x"),
        tr=tr,
        missing=done.missing,
        shortfall=done.shortfall(),
    )


def test_a_result_with_images_missing_says_how_many_failed_and_why() -> None:
    embed = one_of_three("a fox", source_lang(), missing_reason="HTTP 500")
    assert embed.title == "✅ 1 of 3 images ready"
    fields = {field.name: field.value for field in embed.fields}
    assert "2 of 3 images failed: HTTP 500" in fields["⚠️ Not every image came"]
    assert "count toward your limits" in fields["⚠️ Not every image came"]


def test_a_shortfall_is_said_in_the_readers_language() -> None:
    embed = one_of_three("ein Fuchs", Lang.of("de"))
    assert embed.title == "✅ 1 von 3 Bildern fertig"
    fields = {field.name: field.value for field in embed.fields}
    shown = fields["⚠️ Nicht alle Bilder sind gekommen"]
    assert shown.startswith(
        "2 von 3 Bildern fehlgeschlagen: der Bilddienst hat sie nicht geschickt"
    )
