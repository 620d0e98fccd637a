"""Saying what happened, as a member sees it: the real bot, the local Discord and the sandbox.

A failure the image service does not call a refusal is told as a failure with a Retry button;
a result link that fails once is fetched again; an outage at submit is waited out within the
submit budget; fewer images than asked are delivered and the shortfall is said.
"""

from __future__ import annotations

import pytest

from bot.sandbox.server import Sandbox
from local_discord import StoredMessage
from tests.e2e.conftest import Stack, final_embed, is_final

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


def button_ids(message: StoredMessage, prefix: str) -> list[str]:
    return [custom_id for custom_id in message.custom_ids() if custom_id.startswith(prefix)]


async def test_a_generic_task_failure_is_told_as_a_failure_with_retry_not_as_a_refusal(
    stack: Stack, sandbox_knobs: Sandbox, clean_log: None
) -> None:
    ld = stack.ld
    sandbox_knobs.faults.fail_tasks = 1
    sandbox_knobs.faults.fail_status = 422  # the documented generation_failed example

    handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a harbour"})

    final = await handle.wait_for_original(is_final, timeout=20)
    embed = final_embed(final)
    assert embed["title"] == "❌ The image service failed", embed
    assert "safety" not in embed["description"] and "eword" not in embed["description"]
    assert "not a refusal" in embed["description"]
    [retry] = button_ids(final, "easel:reroll:")
    press = await ld.click_button("alice", final, retry)
    again = await press.wait_for_original(is_final, timeout=20)
    assert final_embed(again)["title"] == "✅ 1 image ready"


async def test_a_safety_refusal_is_still_told_as_one(
    stack: Stack, sandbox_knobs: Sandbox, clean_log: None
) -> None:
    sandbox_knobs.faults.safety_fail_tasks = 1

    handle = await stack.ld.send_slash_command("alice", None, "imagine", {"prompt": "a ship"})

    final = await handle.wait_for_original(is_final, timeout=20)
    assert final_embed(final)["title"] == "🚫 Refused"
    assert button_ids(final, "easel:reroll:") == []


@pytest.mark.parametrize("kind", ["404", "reset"])
async def test_a_result_download_that_fails_once_still_delivers_the_paid_image(
    stack: Stack, sandbox_knobs: Sandbox, clean_log: None, kind: str
) -> None:
    downloads = sandbox_knobs.count("download")
    sandbox_knobs.add_fault(kind, "download")  # type: ignore[arg-type]

    handle = await stack.ld.send_slash_command("alice", None, "imagine", {"prompt": "a lantern"})

    final = await handle.wait_for_original(is_final, timeout=30)
    assert final_embed(final)["title"] == "✅ 1 image ready", final_embed(final)
    assert len(final.attachments) == 1
    assert sandbox_knobs.count("download") - downloads == 2
    assert sandbox_knobs.faults.rules == []


async def test_a_16_second_500_storm_on_submit_is_waited_out_and_the_job_is_made_once(
    stack: Stack, sandbox_knobs: Sandbox, clean_log: None
) -> None:
    """Nothing is charged until a task exists, so an outage at submit gets a minute, not 10 s."""
    tasks = sandbox_knobs.stats().tasks
    sandbox_knobs.add_fault("500", "submit", seconds=16)

    handle = await stack.ld.send_slash_command("alice", None, "imagine", {"prompt": "a beacon"})

    final = await handle.wait_for_original(is_final, timeout=60)
    assert final_embed(final)["title"] == "✅ 1 image ready", final_embed(final)
    assert sandbox_knobs.stats().tasks == tasks + 1
    titles = [str(v.payload.get("embeds")) for v in final.versions]
    assert any("trying again" in title for title in titles), "the member saw it was waiting"
