"""Defaults and money as admins and members meet them: the real bot, the local Discord and the
upstream emulator, with the ToAPIs profile priced at 0.04 USD an image (IMAGE_PROFILES_FILE).

The budget test runs first: the defaults test spends after it, in the same server and month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from local_discord import LocalDiscord, StoredMessage
from tests.e2e.conftest import Stack, final_embed, is_final, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CHANNEL_MESSAGE = 4
DEFERRED = 5
EPHEMERAL = 1 << 6


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One bot for the module, its ToAPIs profile priced by the host's profiles file."""
    tmp = tmp_path_factory.mktemp("money")
    profiles = tmp / "profiles.toml"
    profiles.write_text('[toapis]\ncurrency = "USD"\nprice = 0.04\ninput_price = 0\n')
    async with running_stack(tmp, IMAGE_PROFILES_FILE=str(profiles)) as world:
        yield world


async def private(
    ld: LocalDiscord, user: str, command: str, options: dict[str, Any], **kw: Any
) -> str:
    """Run a command whose answer is private and immediate; return its text."""
    handle = await ld.send_slash_command(user, "#general", command, options, **kw)
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.type == CHANNEL_MESSAGE and ack.data is not None, ack
    assert int(ack.data.get("flags") or 0) & EPHEMERAL
    return str(ack.data.get("content") or "") + str(ack.data.get("embeds") or "")


async def admin(ld: LocalDiscord, subcommand: str, options: dict[str, Any] | None = None) -> str:
    return await private(ld, "owner", "easel", options or {}, subcommand=subcommand)


async def imagine(stack: Stack, user: str, **options: Any) -> StoredMessage:
    handle = await stack.ld.send_slash_command(user, "#general", "imagine", options)
    assert (await handle.wait_for_callback(timeout=3)).type == DEFERRED
    return await handle.wait_for_original(is_final, timeout=15)


async def test_the_image_that_would_pass_the_budget_is_refused_before_any_request(
    stack: Stack, clean_log: None
) -> None:
    ld, sandbox = stack.ld, stack.sandbox
    bob = ld.create_user("bob")
    await ld.add_member(bob)
    modlog = await ld.create_channel("mod-log")
    await admin(ld, "modlog", {"channel": modlog})
    assert "0.10 USD a month" in await admin(ld, "budget server", {"monthly": "0.10"})
    try:
        for prompt in ("one fox", "two foxes"):  # 0.04 each: 0.08 of 0.10
            done = await imagine(stack, "bob", prompt=prompt)
            assert final_embed(done)["title"] == "✅ 1 image ready"
        submits = sandbox.count("submit")
        text = await private(ld, "bob", "imagine", {"prompt": "three foxes"})
        assert sandbox.count("submit") == submits, "the refused job reached the image API"
        assert "Server budget" in text and "0.02 USD left" in text and "0.10 USD" in text
        assert "would cost about 0.04 USD" in text and "resets <t:" in text

        def logged(message: StoredMessage) -> bool:
            return message.channel_id == modlog.id and "Refused: Server budget" in str(
                message.embeds
            )

        entry = await ld.wait_for_message(logged, timeout=5)
        assert "0.08 USD spent or held" in str(entry.embeds)

        own = await ld.send_slash_command("bob", "#general", "usage")
        await own.wait_for_callback(timeout=3)
        (answer,) = await own.wait_for_followups(1, timeout=5)
        assert "Spent: 0.08 USD today, 0.08 USD this month" in str(answer.embeds)
        assert "0.02 USD left of 0.10 USD a month" in str(answer.embeds)

        server = await ld.send_slash_command(
            "owner", "#general", "usage", {"report": "server", "days": 3}
        )
        await server.wait_for_callback(timeout=3)
        (report,) = await server.wait_for_followups(1, timeout=10)
        assert "spent 0.08 USD" in str(report.embeds)
        files = {
            attachment.filename: ld.attachment_data(attachment) for attachment in report.attachments
        }
        chart = files.pop("easel-usage.png")
        with Image.open(io.BytesIO(chart)) as image:
            assert image.format == "PNG" and image.width == 1000 and image.height > 400
        ((name, data),) = files.items()
        assert name.endswith(".csv")
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert [(r["member_id"], r["images"], r["jobs"], r["cost"]) for r in rows] == [
            (str(bob.id), "2", "2", "0.08")
        ]
    finally:
        await admin(ld, "budget server", {"monthly": "off"})
        await admin(ld, "modlog")


async def test_server_channel_and_member_defaults_fill_what_is_left_out_and_say_so(
    stack: Stack, clean_log: None
) -> None:
    ld, sandbox = stack.ld, stack.sandbox
    assert "16:9" in await admin(ld, "defaults server", {"ratio": "16:9"})
    channel_id = ld.general.id
    assert "2K" in await admin(ld, "defaults channel", {"channel": channel_id, "resolution": "2K"})
    saved = await private(ld, "alice", "settings", {"n": 2})
    assert "Your defaults are saved" in saved and "16:9 · 2K (2048×1152) · ×2" in saved
    try:
        done = await imagine(stack, "alice", prompt="x")
        assert final_embed(done)["title"] == "✅ 2 images ready"
        assert [(a.width, a.height) for a in done.attachments] == [(2048, 1152)] * 2
        body = sandbox.requests_to("submit")[-1].body
        assert (body["size"], body["resolution"], body["n"]) == ("16:9", "2K", 2)
        said = str(final_embed(done)["fields"])
        assert "16:9 (server default)" in said
        assert f"2K (<#{channel_id}>'s default)" in said and "2 images (your default)" in said
        progress = next(v for v in done.versions if v.kind == "edit")
        assert "Defaults used" in str(progress.payload.get("embeds")), "the progress says so too"

        typed = await imagine(stack, "alice", prompt="x", ratio="1:1")
        assert [(a.width, a.height) for a in typed.attachments] == [(2048, 2048)] * 2
        assert "16:9" not in str(final_embed(typed)["fields"])
    finally:
        await admin(ld, "defaults server", {"reset": True})
        await admin(ld, "defaults channel", {"channel": channel_id, "reset": True})
        await private(ld, "alice", "settings", {"reset": True})
