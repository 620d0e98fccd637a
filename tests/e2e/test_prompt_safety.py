"""Prompts that try to hide what they say, as a would-be abuser sends them: the real bot, the
local Discord and the upstream emulator, which must see no request for a refused prompt."""

from __future__ import annotations

import pytest

from local_discord import StoredMessage
from tests.e2e.conftest import (
    CHANNEL_MESSAGE,
    DEFERRED,
    EPHEMERAL,
    Stack,
    admin,
    final_embed,
    is_final,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

DIRECTION_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


async def refused(stack: Stack, prompt: str, *, validate: bool = True) -> str:
    """Alice's /imagine is answered at once, privately, and nothing reaches the image API."""
    upstream = len(stack.sandbox.requests)
    handle = await stack.ld.send_slash_command(
        "alice", "#general", "imagine", {"prompt": prompt}, validate=validate
    )
    ack = await handle.wait_for_callback(timeout=3)
    assert ack.type == CHANNEL_MESSAGE, "a refusal is answered at once, never deferred"
    assert ack.data is not None and int(ack.data.get("flags") or 0) & EPHEMERAL
    assert len(stack.sandbox.requests) == upstream, "a refused prompt reached the image API"
    return str(ack.data.get("content"))


@pytest.mark.parametrize(
    "prompt",
    [
        "b!a!d!w!o!r!d",
        "a b|a|d|w|o|r|d sign",
        "b$a$d$w$o$r$d",
        "b+a+d+w+o+r+d",
        "ʙᴀᴅᴡᴏʀᴅ",
        "ɓadword",
        "a \u202edrowdab\u202c sign",
    ],
)
async def test_a_blocked_term_cannot_be_spelled_past_the_filter(
    stack: Stack, clean_log: None, prompt: str
) -> None:
    ld = stack.ld
    assert "Blocked: `badword`" in await admin(ld, "terms add", {"term": "badword"})
    try:
        text = await refused(stack, prompt)
        assert "Blocked term" in text and "badword" not in text
    finally:
        await admin(ld, "terms remove", {"term": "badword"})


async def test_the_moderation_log_shows_a_reversed_prompt_as_it_reads(
    stack: Stack, clean_log: None
) -> None:
    ld = stack.ld
    modlog = await ld.create_channel("prompt-log")
    await admin(ld, "modlog", {"channel": modlog})
    await admin(ld, "terms add", {"term": "badword"})
    try:
        await refused(stack, "a \u202edrowdab\u202c sign\u200b")

        def logged(message: StoredMessage) -> bool:
            return message.channel_id == modlog.id and "Blocked term" in str(message.embeds)

        entry = await ld.wait_for_message(logged, timeout=5)
        description = str(final_embed(entry).get("description"))
        assert description == "> a badword sign"
    finally:
        await admin(ld, "terms remove", {"term": "badword"})
        await admin(ld, "modlog")


@pytest.mark.parametrize("prompt", ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u2060 "])
async def test_a_prompt_of_only_invisible_characters_is_refused_privately(
    stack: Stack, clean_log: None, prompt: str
) -> None:
    text = await refused(stack, prompt)
    assert "The prompt is empty" in text and "invisible" in text


async def test_a_prompt_longer_than_the_command_declares_is_refused_with_both_lengths(
    stack: Stack, clean_log: None
) -> None:
    text = await refused(stack, "a" * 6_001, validate=False)  # as a modified client sends it
    assert "6,001 characters" in text and "at most 6,000" in text


async def test_a_prompt_is_sent_and_shown_without_invisible_or_direction_characters(
    stack: Stack, clean_log: None
) -> None:
    handle = await stack.ld.send_slash_command(
        "alice", "#general", "imagine", {"prompt": "a \u202erewot\u202c\u200b in fog\u2060"}
    )
    assert (await handle.wait_for_callback(timeout=3)).type == DEFERRED
    final = await handle.wait_for_original(is_final, timeout=15)
    assert final_embed(final)["description"] == "> a tower in fog"
    assert stack.sandbox.requests_to("submit")[-1].body["prompt"] == "a tower in fog"
    assert not any(ch in str(final.embeds) for ch in DIRECTION_CONTROLS)
