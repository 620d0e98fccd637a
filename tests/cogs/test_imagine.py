"""/imagine through discord.py's real CommandTree, the real engine and the sandbox over loopback."""

from __future__ import annotations

import asyncio
import io
import itertools
from typing import Any

import pytest
from PIL import Image

from tests.bot.media.images import png
from tests.cogs.conftest import Harness
from tests.support.discord_harness import (
    RecordedCall,
    attachment_payload,
    dispatch,
    slash_command_payload,
)

EPHEMERAL = 64


def option(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


def imagine(prompt: str, *extra: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return slash_command_payload("imagine", [option("prompt", prompt), *extra], **kw)


def has_final(calls: list[RecordedCall]) -> bool:
    return any(call.is_original_edit and call.files for call in calls) or any(
        call.is_original_edit and "Refused" in str(call.payload) for call in calls
    )


async def run(
    h: Harness, payload: dict[str, Any], done: Any = has_final, timeout: float = 15
) -> list[RecordedCall]:
    dispatch(h.bot, payload)
    await h.adapter.wait_for(done, timeout)
    await asyncio.sleep(0)  # let the command task finish its last await
    return h.adapter.calls


def embed(call: RecordedCall) -> dict[str, Any]:
    assert call.payload is not None
    return call.payload["embeds"][0]


async def test_imagine_defers_first_then_posts_every_image_at_the_exact_size(
    harness: Harness,
) -> None:
    calls = await run(
        harness,
        imagine(
            "a lighthouse at dusk",
            option("ratio", "16:9"),
            option("resolution", "2K"),
            option("n", 2, 4),
        ),
    )
    first = calls[0]
    assert first.is_callback and first.payload is not None
    assert first.payload["type"] == 5 and not first.flags & EPHEMERAL
    final = [call for call in calls if call.is_original_edit and call.files][-1]
    assert len(final.files) == 2
    for name, data in final.files:
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size) == ("PNG", (2048, 1152)), name
    caption = embed(final)
    assert "a lighthouse at dusk" in caption["description"]
    assert "2048×1152" in str(caption["fields"])
    assert harness.sandbox.count("submit") == 1


async def test_progress_edits_are_throttled_and_sent_only_when_changed(harness: Harness) -> None:
    harness.sandbox.faults.task_duration = 2.5
    calls = await run(harness, imagine("slow one"))
    edits = [call for call in calls if call.is_original_edit]
    progress, final = edits[:-1], edits[-1]
    assert final.files and len(progress) >= 2
    for earlier, later in itertools.pairwise(progress):
        assert later.at - earlier.at >= 0.5 - 0.02
        assert embed(earlier) != embed(later)
    assert any("▰" in str(embed(call)) for call in progress)


async def test_an_impossible_option_is_answered_privately_without_any_upstream_call(
    harness: Harness,
) -> None:
    calls = await run(
        harness,
        imagine("square at 4k", option("resolution", "4K")),
        done=lambda calls: bool(calls),
    )
    await asyncio.sleep(0.1)
    assert len(calls) == 1
    reply = calls[0]
    assert reply.is_callback and reply.payload is not None
    assert reply.payload["type"] == 4 and reply.flags & EPHEMERAL
    assert "1:1 is not available at 4K" in reply.payload["data"]["content"]
    assert len(harness.sandbox.requests) == 0


async def test_values_discord_would_never_send_are_still_refused(harness: Harness) -> None:
    calls = await run(
        harness, imagine("too many", option("n", 50, 4)), done=lambda calls: bool(calls)
    )
    assert calls[0].flags & EPHEMERAL and "between 1 and 10" in str(calls[0].payload)
    assert len(harness.sandbox.requests) == 0


async def test_a_non_image_attachment_is_refused_before_deferring(harness: Harness) -> None:
    url = harness.cdn.add("notes.txt", b"hello")
    attachment = attachment_payload("notes.txt", url, 5, content_type="text/plain")
    payload = imagine(
        "use my notes",
        option("reference", attachment["id"], 11),
        attachments={attachment["id"]: attachment},
    )
    calls = await run(harness, payload, done=lambda calls: bool(calls))
    assert calls[0].payload is not None and calls[0].payload["type"] == 4
    assert "`notes.txt` is not an image" in calls[0].payload["data"]["content"]
    assert len(harness.sandbox.requests) == 0


async def test_a_reference_attachment_is_uploaded_and_sent_with_the_task(harness: Harness) -> None:
    await imagine_with(harness, "my cat as a painting", "cat.png", png((64, 48), "orange"))
    assert harness.sandbox.count("upload") == 1
    submit = harness.sandbox.requests_to("submit")[0].body
    assert len(submit["reference_images"]) == 1
    assert "/files/uploads/" in submit["reference_images"][0]


async def imagine_with(
    harness: Harness, prompt: str, name: str, data: bytes, done: Any = has_final
) -> list[RecordedCall]:
    """``/imagine`` with ``data`` attached as ``name`` for its reference, until ``done``."""
    url = harness.cdn.add(name, data)
    attachment = attachment_payload(name, url, len(data))
    payload = imagine(
        prompt,
        option("reference", attachment["id"], 11),
        attachments={attachment["id"]: attachment},
    )
    return await run(harness, payload, done=done)


async def imagine_with_unreadable(harness: Harness, name: str, data: bytes) -> list[RecordedCall]:
    """``/imagine`` with an unreadable reference, until the private follow-up is sent."""
    return await imagine_with(
        harness,
        "fix this",
        name,
        data,
        done=lambda calls: any(
            c.method == "POST" and c.flags & EPHEMERAL for c in calls if not c.is_callback
        ),
    )


async def test_a_corrupt_attachment_is_answered_privately_after_deferring(harness: Harness) -> None:
    calls = await imagine_with_unreadable(harness, "broken.png", b"\x89PNG\r\n\x1a\nnot really")
    assert any(call.method == "DELETE" for call in calls)
    followup = [c for c in calls if c.method == "POST" and not c.is_callback][-1]
    assert "broken.png" in str(followup.payload)
    assert harness.sandbox.count("submit") == 0


async def test_a_corrupt_attachment_is_deferred_privately_so_nothing_public_appears(
    harness: Harness,
) -> None:
    calls = await imagine_with_unreadable(
        harness, "notes.png", b"just some text, named like a picture"
    )
    [deferral] = [call for call in calls if call.is_callback]
    assert deferral.payload is not None and deferral.payload["type"] == 5
    assert deferral.flags & EPHEMERAL, "the thinking message is private"
    posted = [c for c in calls if c.method in ("POST", "PATCH") and not c.is_callback]
    assert all(c.flags & EPHEMERAL for c in posted if c.method == "POST"), "nothing public"
    assert not [c for c in calls if c.is_original_edit], "no job message was ever shown"


async def test_a_good_reference_is_checked_privately_then_the_job_message_is_public(
    harness: Harness,
) -> None:
    calls = await imagine_with(harness, "my cat as a painting", "cat.png", png((64, 48), "orange"))
    kinds = [(c.method, "callback" if c.is_callback else c.url.rsplit("/", 1)[-1]) for c in calls]
    deferral = next(i for i, c in enumerate(calls) if c.is_callback)
    deleted = next(
        i for i, (m, where) in enumerate(kinds) if m == "DELETE" and where == "@original"
    )
    public = next(
        i for i, c in enumerate(calls) if c.method == "POST" and not c.is_callback and c.payload
    )
    assert deferral < deleted < public, kinds
    assert calls[deferral].flags & EPHEMERAL and not calls[public].flags & EPHEMERAL
    assert "Starting" in str(calls[public].payload)


@pytest.mark.parametrize(
    ("name", "size", "content_type", "dimensions", "expected"),
    [
        ("empty.png", 0, "image/png", None, "`empty.png` is empty (0 bytes)"),
        ("cat.png", 10, "text/plain", None, "`cat.png` is not an image"),
        ("huge.png", 10, "image/png", (10_000, 10_000), "100 megapixels"),
        ("big.png", 60_000_000, "image/png", None, "at most 50 MB"),
    ],
)
async def test_what_the_metadata_tells_is_refused_before_deferring(
    harness: Harness,
    name: str,
    size: int,
    content_type: str,
    dimensions: tuple[int, int] | None,
    expected: str,
) -> None:
    attachment = attachment_payload(name, harness.cdn.add(name, b""), size, content_type)
    if dimensions is not None:
        attachment.update(width=dimensions[0], height=dimensions[1])
    payload = imagine(
        "a fox",
        option("reference", attachment["id"], 11),
        attachments={attachment["id"]: attachment},
    )
    calls = await run(harness, payload, done=lambda calls: bool(calls))
    assert calls[0].payload is not None and calls[0].payload["type"] == 4
    assert calls[0].flags & EPHEMERAL and expected in str(calls[0].payload)
    assert len(calls) == 1 and len(harness.sandbox.requests) == 0


async def test_files_are_fitted_under_the_interactions_size_limit(harness: Harness) -> None:
    limit = 60_000
    calls = await run(harness, imagine("big", option("resolution", "2K"), size_limit=limit))
    final = [call for call in calls if call.is_original_edit and call.files][-1]
    assert all(len(data) <= limit for _, data in final.files)
    assert "to fit" in str(embed(final)["fields"])


async def test_prompts_never_ping_anyone(harness: Harness) -> None:
    calls = await run(harness, imagine("@everyone look <@&123> and <@456>"))
    for call in calls:
        if call.payload and not call.is_callback:
            assert call.payload.get("allowed_mentions") == {"parse": []}, call.url
    description = embed(calls[-1])["description"]
    assert "@\u200beveryone" in description


async def test_a_safety_refusal_is_named_and_not_retried(harness: Harness) -> None:
    harness.sandbox.faults.safety_fail_tasks = 1
    calls = await run(harness, imagine("something the filter dislikes"))
    final = calls[-1]
    assert "Refused" in embed(final)["title"]
    assert "safety system" in embed(final)["description"]
    assert harness.sandbox.count("submit") == 1
