"""The playground in the visitor's language, in headless Chromium: the page's picker makes the
member's Discord client speak it, so Easel's refusals, progress and results come back in it; the
page's own words and the command picker follow; the choice survives a reload; a first visit
starts in the browser's language.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.i18n import Lang, Text, _, _n
from bot.playground.entry import Playground
from tests.bot.playground.conftest import ANSWERED_4XX, VIEWPORT
from tests.bot.playground.test_browser import JOB_WAIT, open_as, start_command

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

#: Every status a job's progress title can show (cogs/_render.status_text), positions 1-9.
STATUSES: list[Text] = [
    _("Starting"),
    _("Waiting in the queue"),
    *(_("Waiting in the queue (position {position})", position=n) for n in range(1, 10)),
    _("Submitted, waiting for the image service"),
    _("Generating"),
    _("Finishing: downloading the images"),
    _("Working"),
]


async def choose_language(page: Any, code: str) -> Lang:
    """Pick ``code`` in the sidebar and wait until the page speaks it."""
    tr = Lang.of(code)
    await page.select_option("#language", code)
    await page.wait_for_selector(f"html[lang='{code}']")
    await page.wait_for_selector(f"#send-button:text-is('{page_word(tr, 'Send')}')")
    await page.wait_for_selector("body[data-ready=true]")
    return tr


def page_word(tr: Lang, english: str) -> str:
    """A sentence of the page's own in ``tr``'s language."""
    from bot.playground.chrome import PAGE

    return tr.template(next(text for text in PAGE if text.id == english))


async def refused_in(page: Any, tr: Lang, expected: str) -> None:
    """``/imagine`` with 1:1 at 4K (never offered): refused privately, in ``tr``'s language."""
    await start_command(page, "imagine")
    await page.fill("[data-option-input=prompt]", "a lighthouse")
    await page.click("[data-add-option=ratio]")
    await page.select_option("[data-option-input=ratio]", "1:1")
    await page.click("[data-add-option=resolution]")
    await page.fill("[data-option-input=resolution]", "4K")
    await page.click("#send-button")
    refusal = page.locator(".message.ephemeral", has_text=expected).last
    await refusal.wait_for()
    text = await refusal.inner_text()
    assert page_word(tr, "Only you can see this") in text
    assert "not available" not in text


async def job_in(page: Any, playground: Playground, tr: Lang, prompt: str) -> Any:
    """``/imagine`` to its result; every progress title it showed was in ``tr``'s language."""
    await start_command(page, "imagine")
    await page.fill("[data-option-input=prompt]", prompt)
    await page.click("#send-button")
    done = tr(_n("{count} image ready", "{count} images ready", 1))
    result = page.locator(".message", has_text=prompt).filter(has_text=done).last
    await result.wait_for(timeout=JOB_WAIT)
    message = playground.server.ld.messages[int(await result.get_attribute("data-message-id"))]
    titles = [
        str(embed.get("title", ""))
        for version in message.versions
        for embed in version.payload.get("embeds") or []
    ]
    progress = [title for title in titles if title.startswith("🎨 ")]
    allowed = {f"🎨 {tr(status)}…" for status in STATUSES}
    assert progress and set(progress) <= allowed, progress
    final = message.payload()["embeds"][0]
    assert f"> {prompt}" in final["description"], "prompts are never translated"
    assert prompt in await result.inner_text()
    return result


async def test_a_german_visitor_reads_german_from_the_page_and_from_easel(
    page: Any, playground: Playground
) -> None:
    await open_as(page, playground, "alice")
    tr = await choose_language(page, "de")
    assert await page.get_attribute("#composer-input", "placeholder") == page_word(
        tr, "Message, or / for commands"
    )
    await page.fill("#composer-input", "/ima")
    entry = page.locator("[data-command='imagine'] .description")
    described = tr.pgettext("command description", "Generate images from a prompt")
    assert await entry.inner_text() == described != "Generate images from a prompt"
    await page.fill("#composer-input", "")

    await refused_in(page, tr, "ist bei 4K nicht verfügbar")
    await start_command(page, "imagine")  # options as a German client names them
    ratio = page.locator("[data-add-option=ratio]")
    assert await ratio.inner_text() == "+ seitenverhältnis"
    await ratio.click()
    assert "16:9" in await page.inner_text("[data-option-input=ratio]")
    await page.click("#command-cancel")

    result = await job_in(page, playground, tr, "ein Leuchtturm in der Dämmerung")
    buttons = await result.locator("button.button").all_inner_texts()
    assert any("Neu würfeln" in label for label in buttons), buttons

    await page.reload()  # the choice is remembered
    await page.wait_for_selector("body[data-ready=true]")
    assert await page.input_value("#language") == "de"
    assert await page.inner_text("#send-button") == "Senden"


async def test_a_japanese_visitor_reads_japanese(page: Any, playground: Playground) -> None:
    await open_as(page, playground, "bob")
    tr = await choose_language(page, "ja")
    assert await page.inner_text("#send-button") == "送信"
    await refused_in(page, tr, "4K では使えません")
    await job_in(page, playground, tr, "夕暮れの灯台")


async def test_a_first_visit_starts_in_the_browsers_language(
    browser: Any, playground: Playground
) -> None:
    """Chromium set to Traditional Chinese (Hong Kong) opens the page in zh-TW, unasked."""
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-HK")
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith(ANSWERED_4XX)
            else None
        ),
    )
    try:
        await open_as(tab, playground, "alice")
        assert await tab.input_value("#language") == "zh-TW"
        assert await tab.inner_text("#send-button") == page_word(Lang.of("zh-TW"), "Send")
        names = await tab.locator("#language option").all_inner_texts()
        assert "日本語" in names and "Deutsch" in names and "English" in names
    finally:
        await context.close()
    assert problems == []
