"""The playground's page in headless Chromium, as a visitor uses it: slash commands with options
and files, live progress, result buttons, the Apps menu and its form, private refusals, admin
settings, and the activity panel.

Every action goes from the page through the local Discord to the real bot in this process, and
every check reads what the page shows.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from bot.playground.entry import Playground
from bot.playground.world import sample_picture
from tests.bot.playground.conftest import Screens

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

JOB_WAIT = 30_000  # ms: a sandbox job here takes about 2 s; generous for a loaded machine


async def open_as(page: Any, playground: Playground, who: str, channel: str = "general") -> None:
    """Open the playground as ``who`` in ``#channel``, once the page has loaded."""
    await page.goto(f"{playground.url}?as={who}")
    await page.wait_for_selector("body[data-ready=true]")
    if channel != "general":
        await page.click(f"[data-channel-name='{channel}']")
        await page.wait_for_selector(f"#channel-name:text-is('{channel}')")


async def start_command(page: Any, path: str) -> None:
    """Type ``/`` and the command's start, then pick it from the command picker."""
    await page.fill("#composer-input", f"/{path.split()[-1][:3]}")
    await page.click(f"[data-command='{path}']")
    await page.wait_for_selector("#command-form:not([hidden])")


async def drop_file(page: Any, selector: str, name: str, data: bytes) -> None:
    """Drag a file from the desktop and drop it on ``selector``."""
    transfer = await page.evaluate_handle(
        """([name, encoded]) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            return transfer;
        }""",
        [name, base64.b64encode(data).decode()],
    )
    await page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    await page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def message_with(page: Any, text: str) -> Any:
    """The (last) message showing ``text``."""
    return page.locator(".message", has_text=text).last


async def test_imagine_with_options_and_files_becomes_images_live(
    page: Any, playground: Playground, screens: Screens, tmp_path: Path
) -> None:
    """Options by type (a choice, the bot's autocomplete, a number), one file from the picker and
    one dropped on the box; the progress message is replaced by the images in place."""
    reference = tmp_path / "reference.png"
    reference.write_bytes(sample_picture(96, 64))
    await open_as(page, playground, "alice")
    await start_command(page, "imagine")
    await page.fill("[data-option-input=prompt]", "a lighthouse at dusk")
    await page.click("[data-add-option=ratio]")
    await page.select_option("[data-option-input=ratio]", "16:9")
    await page.click("[data-add-option=resolution]")
    await page.click("[data-option-input=resolution]")
    suggestion = page.locator(".suggestion", has_text="2K")
    await suggestion.wait_for()
    assert "2048×1152" in await suggestion.inner_text()  # the bot's own answer for 16:9
    await suggestion.click()
    await page.click("[data-add-option=n]")
    await page.fill("[data-option-input=n]", "2")
    await page.set_input_files("#attach-input", str(reference))
    await drop_file(page, "#chat", "second.png", sample_picture(64, 96))
    assert await page.locator("[data-option=reference] .file-option").inner_text() == (
        "reference.png"
    )
    assert "second.png" in await page.locator("[data-option=reference2]").inner_text()
    await screens.take(page, "composer")
    await page.press("[data-option-input=prompt]", "Enter")

    job = message_with(page, "a lighthouse at dusk")
    await job.locator(".message-context", has_text="Alice used /imagine").wait_for()
    await job.locator(".embed-title", has_text="🎨").wait_for()  # in progress
    assert await job.locator(".attachment img").count() == 0
    await job.locator(".embed-title", has_text="2 images ready").wait_for(timeout=JOB_WAIT)
    images = job.locator(".attachment img")
    assert await images.count() == 2
    sizes = await images.evaluate_all(
        "(imgs) => imgs.map((i) => [i.naturalWidth, i.naturalHeight])"
    )
    assert sizes == [[2048, 1152], [2048, 1152]]  # loaded from the playground, at full size
    assert "16:9 · 2K (2048×1152) · ×2" in await job.locator(".embed").inner_text()
    await screens.take(page, "imagine")


async def test_reroll_posts_a_new_result_as_a_reply(page: Any, playground: Playground) -> None:
    await open_as(page, playground, "alice")
    await start_command(page, "imagine")
    await page.fill("[data-option-input=prompt]", "a red kite over the dunes")
    await page.press("[data-option-input=prompt]", "Enter")
    first = message_with(page, "a red kite over the dunes")
    await first.locator(".embed-title", has_text="1 image ready").wait_for(timeout=JOB_WAIT)
    before = await page.locator(".message", has_text="a red kite over the dunes").count()
    await first.locator("button.button", has_text="Re-roll").click()
    again = page.locator(".message", has_text="a red kite over the dunes")
    await page.wait_for_function(
        "(n) => document.querySelectorAll('.message .embed-title').length > n", arg=before
    )
    reply = again.last
    await reply.locator(".message-context.reply").wait_for()
    await reply.locator(".embed-title", has_text="1 image ready").wait_for(timeout=JOB_WAIT)
    assert await again.count() == before + 1


async def test_edit_image_from_the_apps_menu_opens_the_form_and_edits(
    page: Any, playground: Playground, screens: Screens
) -> None:
    """The owner's welcome picture: Apps → Edit image, fill the form (the area is optional),
    and the edit comes back as a new result."""
    await open_as(page, playground, "bob")
    welcome = message_with(page, "Welcome to the")
    await welcome.hover()
    await welcome.locator(".apps-button").click()
    await page.click("[data-app='Edit image']")
    form = page.locator(".modal")
    await form.wait_for()
    assert await form.locator("h2").inner_text() == "Edit image"
    await form.locator(".submit").click()  # the prompt is required, as in Discord
    await form.locator(".field-error", has_text="required").wait_for()
    await form.locator("textarea").fill("add a full moon over the harbour")
    await screens.take(page, "edit-form")
    await form.locator(".submit").click()
    await form.wait_for(state="detached")
    edited = message_with(page, "add a full moon over the harbour")
    await edited.locator(".message-context", has_text="Bob used Edit image").wait_for()
    await edited.locator(".embed-title", has_text="1 image ready").wait_for(timeout=JOB_WAIT)
    assert await edited.locator(".attachment img").count() == 1


async def test_an_area_is_previewed_privately_changed_from_its_menu_then_repainted(
    page: Any, playground: Playground
) -> None:
    """The form's area menu, then the private picker: its multi-select menu redraws the
    preview, and nothing is spent until "Repaint this area"."""
    await open_as(page, playground, "alice")
    welcome = message_with(page, "Welcome to the")
    await welcome.click(button="right")  # the message's context menu, as on desktop
    await page.click("[data-app='Edit image']")
    form = page.locator(".modal")
    await form.locator("textarea").fill("a tall ship on the left")
    await form.locator(".choice", has_text="Left half").locator("input").check()
    await form.locator(".submit").click()
    found = page.locator(".message.ephemeral", has_text="Repaint:")
    await found.wait_for()
    picker = page.locator(f"[data-message-id='{await found.get_attribute('data-message-id')}']")
    assert "Left half" in await picker.locator(".content").inner_text()
    assert await picker.locator(".attachment img").count() == 1  # the tinted preview
    upstream = playground.room.activity.totals.upstream
    await picker.locator(".select-box").click()
    await picker.locator(".select-option", has_text="Bottom half").click()
    await picker.locator(".select-done").click()
    await picker.locator(".content", has_text="Left half + Bottom half").wait_for()
    assert playground.room.activity.totals.upstream == upstream  # a preview costs nothing
    await picker.locator("button.button", has_text="Repaint this area").click()
    await picker.locator(".content", has_text="Repainting").wait_for()
    result = message_with(page, "a tall ship on the left")
    await result.locator(".embed-title", has_text="1 image ready").wait_for(timeout=JOB_WAIT)


async def test_a_refusal_is_private_to_the_member_who_asked(
    page: Any, playground: Playground, screens: Screens
) -> None:
    """Compression without JPEG is refused before anything is spent: only Alice sees why."""
    upstream = playground.room.activity.totals.upstream
    await open_as(page, playground, "alice")
    await start_command(page, "imagine")
    await page.fill("[data-option-input=prompt]", "a quiet pond")
    await page.click("[data-add-option=compression]")
    await page.fill("[data-option-input=compression]", "80")
    await page.press("[data-option-input=prompt]", "Enter")
    refusal = page.locator(".message.ephemeral", has_text="compression")
    await refusal.wait_for()
    assert "Only you can see this" in await refusal.inner_text()
    await screens.take(page, "refusal")
    assert playground.room.activity.totals.upstream == upstream  # nothing spent upstream

    await page.click("[data-persona=bob]")
    await page.wait_for_selector("body[data-ready=true] [data-persona=bob].active")
    assert await page.locator(".message.ephemeral", has_text="compression").count() == 0
    await page.click("[data-persona=alice]")
    await page.wait_for_selector("body[data-ready=true] [data-persona=alice].active")
    await refusal.locator("button", has_text="Dismiss message").click()
    assert await page.locator(".message.ephemeral", has_text="compression").count() == 0


async def test_a_members_message_is_shown_as_markdown_never_as_html(
    page: Any, playground: Playground
) -> None:
    """What members write is text: Discord's markdown is drawn, HTML and script links are not."""
    await open_as(page, playground, "bob")
    text = (
        '**bold** and ||hidden|| <img src=x onerror="document.body.dataset.owned=1"> '
        "[click](javascript:alert(1)) <@" + str(playground.server.admin.user_id) + ">"
    )
    await page.fill("#composer-input", text)
    await page.press("#composer-input", "Enter")
    shown = message_with(page, "bold and").locator(".content")
    await shown.wait_for()
    assert await shown.locator("strong").inner_text() == "bold"
    assert await shown.locator(".spoiler").inner_text() == "hidden"
    assert await shown.locator(".mention").inner_text() == "@Sam"
    assert await shown.locator("img").count() == 0
    assert await shown.locator("a").count() == 0
    assert "<img src=x" in await shown.inner_text()
    assert await page.evaluate("document.body.dataset.owned") is None


async def test_required_options_are_enforced_before_anything_is_sent(
    page: Any, playground: Playground
) -> None:
    await open_as(page, playground, "alice")
    dispatched = len(playground.server.ld.world.interactions)
    await start_command(page, "imagine")
    await page.click("#send-button")
    field = page.locator("[data-option=prompt]")
    await field.locator(".option-error", has_text="required").wait_for()
    assert "invalid" in (await field.get_attribute("class") or "")
    await page.click("[data-add-option=n]")
    await page.fill("[data-option-input=prompt]", "two foxes")
    await page.fill("[data-option-input=n]", "11")  # the command says 1-10
    await page.click("#send-button")
    await page.locator("[data-option=n] .option-error").wait_for()
    assert len(playground.server.ld.world.interactions) == dispatched


async def test_settings_work_for_the_admin_and_members_are_refused(
    page: Any, playground: Playground, screens: Screens
) -> None:
    """Sam changes a limit (the moderation log records it); /easel is hidden from Bob until the
    server lets everyone use it, and then Easel itself refuses him."""
    await open_as(page, playground, "sam")
    await start_command(page, "easel limits")
    await page.click("[data-add-option=server_daily]")
    await page.fill("[data-option-input=server_daily]", "500")
    await page.press("[data-option-input=server_daily]", "Enter")
    await page.locator(".message.ephemeral", has_text="Saved").wait_for()
    await start_command(page, "easel settings")
    await page.press("#composer-input", "Enter")
    overview = page.locator(".message.ephemeral .embed", has_text="Per server per day")
    await overview.wait_for()
    assert "500 images" in await overview.inner_text()
    await screens.take(page, "settings")
    await page.click("[data-channel-name='mod-log']")
    change = page.locator(".message .embed", has_text="images per server per day: none → 500")
    await change.locator(".embed-title", has_text="Settings changed").wait_for()
    await screens.take(page, "modlog")

    await page.click("[data-persona=bob]")
    await page.wait_for_selector("body[data-ready=true] [data-persona=bob].active")
    assert await page.locator("[data-channel-name='mod-log']").count() == 0  # admins only
    await page.fill("#composer-input", "/eas")
    await page.locator("#command-picker", has_text="No commands match").wait_for()
    await page.press("#composer-input", "Escape")
    await page.fill("#composer-input", "")
    await page.check("#control-everyone-easel")
    await page.fill("#composer-input", "/eas")
    await page.click("[data-command='easel settings']")
    await page.press("#composer-input", "Enter")
    refusal = page.locator(".message.ephemeral", has_text="Manage Server")
    await refusal.wait_for()
    assert "Only you can see this" in await refusal.inner_text()
    await page.uncheck("#control-everyone-easel")


async def test_the_activity_panel_shows_rest_calls_upstream_requests_and_429s(
    page: Any, playground: Playground, screens: Screens
) -> None:
    await open_as(page, playground, "bob")
    await page.check("#control-tight-rate-limits")
    try:
        await start_command(page, "imagine")
        await page.fill("[data-option-input=prompt]", "a slow boat to the islands")
        await page.press("[data-option-input=prompt]", "Enter")
        job = message_with(page, "a slow boat to the islands")
        await job.locator(".embed-title", has_text="1 image ready").wait_for(timeout=JOB_WAIT)
    finally:
        await page.uncheck("#control-tight-rate-limits")
    panel = page.locator("#activity")
    await panel.locator(".activity-entry.limited").first.wait_for()
    assert await panel.locator(
        ".activity-entry.upstream", has_text="/v1/images/generations"
    ).count()
    assert await panel.locator(".activity-entry.discord", has_text="/callback").count()
    hits = await panel.locator("[data-total='rate-limit hits'] strong").inner_text()
    assert int(hits) >= 1
    await page.click("#activity-filters [data-filter=ratelimit]")
    shown = panel.locator(".activity-entry:visible")
    assert await shown.count() == await panel.locator(".activity-entry.limited").count()
    await page.click("#activity-filters [data-filter=all]")
    await screens.take(page, "activity")
