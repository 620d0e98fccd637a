"""The real bot process with an OpenAI-compatible provider first and ToAPIs as its failover.

Streamed previews reach the member's message and never become the result; an outage moves the
job to ToAPIs and the footer says so; a call cut off by SIGKILL is reported after the restart
with a Retry button that works.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.sandbox.openai_server import OpenAISandbox
from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord, StoredMessage
from tests.e2e.conftest import (
    BotProcess,
    assert_never_pinged,
    final_embed,
    is_final,
    start_bot,
    stop_and_check,
)

pytestmark = pytest.mark.e2e


def provider_env(openai: OpenAISandbox, toapis: Sandbox) -> dict[str, str]:
    """OpenAI first (through the issue-2 names), ToAPIs second (through its own names)."""
    return {
        "IMAGE_PROVIDER": "openai",
        "IMAGE_PROVIDERS": "openai,toapis",
        "IMAGE_API_BASE_URL": openai.base_url,
        "IMAGE_API_KEY": "test",
        "TOAPIS_BASE_URL": toapis.base_url,
        "TOAPIS_API_KEY": "test",
        "PROGRESS_EDIT_INTERVAL": "0.5",
    }


def attachment_names(message: StoredMessage) -> list[str]:
    return [attachment.filename for attachment in message.attachments]


async def test_previews_failover_and_a_call_lost_to_a_restart(tmp_path: Path) -> None:
    async with (
        LocalDiscord() as ld,
        Sandbox(task_duration=1.0) as toapis,
        OpenAISandbox("openai", api_key="test", call_duration=2.0) as openai,
    ):
        env = provider_env(openai, toapis)
        bot = await start_bot(ld, toapis, tmp_path, **env)

        # Streamed previews: shown while it draws, gone when the image arrives.
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a fox"})
        final = await handle.wait_for_original(is_final, timeout=20)
        shown = [
            version
            for version in final.edits
            if any(
                str(a.get("filename", "")).startswith("preview_")
                for a in version.payload.get("attachments", [])
            )
        ]
        assert shown, "no progress edit showed a preview"
        image_urls = [str(v.payload["embeds"][0].get("image", {}).get("url")) for v in shown]
        # Discord turns attachment://preview_N.jpg into the uploaded file's URL.
        assert all("/preview_" in url for url in image_urls), image_urls
        assert all(name.startswith("easel_") for name in attachment_names(final))
        assert final_embed(final)["footer"]["text"] == "OpenAI · gpt-image-2"

        # No balance at OpenAI: ToAPIs takes the job, and the member is told who made it.
        openai.faults.balance = 0
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a heron"})
        final = await handle.wait_for_original(is_final, timeout=20)
        assert final_embed(final)["title"] == "✅ 1 image ready"
        assert final_embed(final)["footer"]["text"] == (
            "ToAPIs · gpt-image-2 · standing in for OpenAI"
        )
        assert toapis.count("submit") == 1
        openai.faults.balance = 100

        # SIGKILL during a synchronous call: the image is lost; the restart says so, with Retry.
        openai.faults.call_duration = 60
        calls = openai.count("generate")
        handle = await ld.send_slash_command("alice", None, "imagine", {"prompt": "a lost owl"})
        async with asyncio.timeout(10):
            while openai.count("generate") == calls:
                await asyncio.sleep(0.05)
        await kill(bot)
        openai.faults.call_duration = 0.3
        identifies = ld.gateway.identifies
        bot = await start_bot(ld, toapis, tmp_path, **env)
        await ld.wait_for(lambda s: s.gateway.identifies > identifies, timeout=20)
        lost = await handle.wait_for_original(is_final, timeout=20)
        assert final_embed(lost)["title"] == "🔁 Interrupted by a restart"
        assert "Press Retry" in final_embed(lost)["description"]
        retry = next(cid for cid in lost.custom_ids() if cid.startswith("easel:reroll:"))
        press = await ld.click_button("alice", lost, retry)
        await press.wait_for_callback(timeout=3)
        again = await press.wait_for_original(is_final, timeout=20)
        assert final_embed(again)["title"] == "✅ 1 image ready"
        await stop_and_check(bot)
        assert ld.internal_errors == []
        assert_never_pinged(ld)


async def kill(bot: BotProcess) -> None:
    """SIGKILL: the process gets no chance to save anything."""
    bot.proc.send_signal(signal.SIGKILL)
    await bot.proc.wait()
