"""The slash commands against each OpenAI-compatible provider, failover, previews and Retry.

The real bot, CommandTree and engine run against the provider emulators over loopback.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import discord.webhook.async_ as webhook_async
import pytest
from PIL import Image

from bot.client import EaselBot
from bot.jobs.models import JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.options import Ratio, Resolution
from bot.providers.families import model_spec
from bot.sandbox.openai_server import Flavour, OpenAISandbox
from cogs._options import quality_choices, resolution_choices
from tests.bot.media import images
from tests.cogs.conftest import BotHttpRecorder, Cdn, easel_bot, harness_settings
from tests.support.discord_harness import (
    GUILD_ID,
    USER_ID,
    RecordedCall,
    RecordingAdapter,
    attachment_payload,
    component_payload,
    dispatch,
    message_payload,
    prepare_bot,
    slash_command_payload,
)
from tests.support.providers import PROFILES, compat_provider

EPHEMERAL = 64
Done = Callable[[list[RecordedCall]], bool]


@dataclass
class ProviderHarness:
    bot: EaselBot
    adapter: RecordingAdapter
    servers: list[OpenAISandbox]
    cdn: Cdn
    bot_http: BotHttpRecorder

    @property
    def server(self) -> OpenAISandbox:
        return self.servers[0]


async def open_harness(
    tmp_path: Path, cdn: Cdn, servers: list[OpenAISandbox], session: aiohttp.ClientSession
) -> AsyncIterator[ProviderHarness]:
    settings = harness_settings(tmp_path)
    adapter = RecordingAdapter()
    token = webhook_async.async_context.set(adapter)
    providers = [compat_provider(server, session) for server in servers]
    first = PROFILES[servers[0].flavour]
    try:
        async with easel_bot(
            settings,
            providers[0],
            tmp_path / "files",
            database=tmp_path / "easel.sqlite3",
            label=f"{first.label} · gpt-image-2",
            fallbacks=providers[1:],
        ) as bot:
            await prepare_bot(bot)
            bot.http._HTTPClient__session = session  # type: ignore[attr-defined]
            bot_http = BotHttpRecorder()  # bot-token REST: the channel fallback
            bot.http.request = bot_http.request  # type: ignore[method-assign]
            await bot.setup_hook()
            yield ProviderHarness(bot, adapter, servers, cdn, bot_http)
    finally:
        webhook_async.async_context.reset(token)


def option(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "type": 4 if isinstance(value, int) else 3, "value": value}


def finals(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [
        c for c in calls if c.is_original_edit and any(n.startswith("easel_") for n, _ in c.files)
    ]


def failures(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [c for c in calls if c.is_original_edit and "❌" in str(c.payload)]


def embed(call: RecordedCall) -> dict[str, Any]:
    assert call.payload is not None
    return call.payload["embeds"][0]


async def run(h: ProviderHarness, payload: dict[str, Any], done: Done) -> list[RecordedCall]:
    dispatch(h.bot, payload)
    await h.adapter.wait_for(done, 20)
    await asyncio.sleep(0.05)
    return h.adapter.calls


def sizes(call: RecordedCall) -> list[tuple[int, int]]:
    found = []
    for name, data in call.files:
        if name.startswith("easel_"):
            with Image.open(io.BytesIO(data)) as image:
                found.append(image.size)
    return found


def png(size: tuple[int, int], *, alpha: bool = False) -> bytes:
    return images.png(size, (30, 90, 160), alpha=alpha)


def private_text(calls: list[RecordedCall]) -> str:
    for call in calls:
        payload = call.payload or {}
        data = payload.get("data", payload) if call.is_callback else payload
        if call.flags & EPHEMERAL and isinstance(data, dict) and data.get("content"):
            return str(data["content"])
    return ""


@pytest.mark.parametrize("flavour", ["infinityblue", "starrise", "openai"])
async def test_imagine_works_against_each_provider(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    async with OpenAISandbox(flavour, call_duration=0.1) as server:
        async for h in open_harness(tmp_path, cdn, [server], session):
            payload = slash_command_payload(
                "imagine",
                [option("prompt", "a lighthouse"), option("ratio", "4:3"), option("n", 2)],
            )
            calls = await run(h, payload, lambda c: bool(finals(c)))
    final = finals(calls)[-1]
    assert sizes(final) == [(1024, 768)] * 2
    assert PROFILES[flavour].label in embed(final)["footer"]["text"]


async def test_streamed_previews_show_in_the_progress_message_and_never_as_the_result(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("openai", call_duration=2.0) as server:
        async for h in open_harness(tmp_path, cdn, [server], session):
            payload = slash_command_payload("imagine", [option("prompt", "a slow fox")])
            calls = await run(h, payload, lambda c: bool(finals(c)))
    previews = [c for c in calls if c.is_original_edit and c.files and not finals([c])]
    assert previews, "no progress edit carried a preview"
    names = [name for call in previews for name, _ in call.files]
    assert all(name.startswith("preview_") and name.endswith(".jpg") for name in names)
    for call in previews:
        (name, data), *_ = call.files
        assert embed(call)["image"]["url"] == f"attachment://{name}"
        with Image.open(io.BytesIO(data)) as image:
            assert max(image.size) <= 512
    final = finals(calls)[-1]
    assert all(name.startswith("easel_") for name, _ in final.files)  # the preview is gone
    assert "preview" not in str(embed(final).get("image", ""))
    assert sizes(final) == [(1024, 1024)]


async def test_edit_with_a_mask_goes_to_starrise_and_is_refused_on_infinityblue(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    for flavour in ("starrise", "infinityblue"):
        async with OpenAISandbox(flavour, call_duration=0.1) as server:  # type: ignore[arg-type]
            async for h in open_harness(tmp_path / flavour, cdn, [server], session):
                image = attachment_payload("room.png", cdn.add("room.png", png((600, 400))), 1)
                mask = attachment_payload(
                    "mask.png", cdn.add("mask.png", png((600, 400), alpha=True)), 1
                )
                payload = slash_command_payload(
                    "edit",
                    [
                        option("prompt", "a rug on the floor"),
                        {"name": "image", "type": 11, "value": image["id"]},
                        {"name": "mask", "type": 11, "value": mask["id"]},
                    ],
                    attachments={image["id"]: image, mask["id"]: mask},
                )
                if flavour == "starrise":
                    calls = await run(h, payload, lambda c: bool(finals(c)))
                    ((width, height),) = sizes(finals(calls)[-1])
                    assert abs(width / height - 1.5) < 0.03
                    (call,) = server.requests_to("edit")
                    assert set(call.files) == {"image", "mask"}
                else:
                    calls = await run(h, payload, lambda c: bool(private_text(c)))
                    assert "ignores masks" in private_text(calls)
                    assert server.count("edit") == 0


async def test_failover_between_two_providers_tells_the_member_who_made_it(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    async with (
        OpenAISandbox("starrise", call_duration=0.1) as first,
        OpenAISandbox("infinityblue", call_duration=0.1) as second,
    ):
        first.add_fault("503", "generate", times=2)
        async for h in open_harness(tmp_path, cdn, [first, second], session):
            payload = slash_command_payload("imagine", [option("prompt", "a heron")])
            calls = await run(h, payload, lambda c: bool(finals(c)))
    footer = embed(finals(calls)[-1])["footer"]["text"]
    assert footer == "InfinityBlue · gpt-image-2 · standing in for Starrise"


async def test_a_safety_refusal_does_not_fail_over(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    async with (
        OpenAISandbox("openai", call_duration=0.1) as first,
        OpenAISandbox("starrise", call_duration=0.1) as second,
    ):
        first.faults.safety_fail_calls = 1
        async for h in open_harness(tmp_path, cdn, [first, second], session):
            payload = slash_command_payload("imagine", [option("prompt", "a heron")])
            calls = await run(h, payload, lambda c: any("Refused" in str(x.payload) for x in c))
        assert second.count("generate") == 0
    refused = next(c for c in calls if c.is_original_edit and "Refused" in str(c.payload))
    assert "safety system" in embed(refused)["description"]


async def test_a_call_lost_to_a_restart_is_reported_with_a_retry_button_that_works(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("starrise", call_duration=0.1) as server:
        async for h in open_harness(tmp_path, cdn, [server], session):
            engine = h.bot.engine
            resolved = engine.validate(JobRequest(prompt="a lost heron", ratio=Ratio.SQUARE))
            job = JobRecord(
                id="b" * 32,
                request=resolved.request,
                resolution=Resolution.R1K,
                width=1024,
                height=1024,
                client_reference="easel-" + "b" * 32,
                provider="starrise",
                task_id="local_starrise_from_the_last_process",
                state=JobState.SUBMITTED,
                user_id=USER_ID,
                guild_id=GUILD_ID,
                channel_id=1,
            )
            await engine.store.add(job)
            await engine.resume()
            await wait_state(h, job.id, JobState.FAILED)
            # No interaction token survives a restart: the outcome goes through the channel.
            told = [call for call in h.bot_http.calls if call[0] == "POST"]
            assert told
            _, _, sent = told[-1]
            assert sent is not None and "Interrupted by a restart" in str(sent)
            assert "easel:reroll:" + job.id in str(sent) and "Retry" in str(sent)
            before = server.count("generate")
            message = message_payload(1234, sent, [])
            dispatch(h.bot, component_payload(f"easel:reroll:{job.id}", message))
            await h.adapter.wait_for(lambda c: bool(finals(c)), 20)
            assert server.count("generate") == before + 1


async def wait_state(h: ProviderHarness, job_id: str, state: JobState) -> None:
    async with asyncio.timeout(10):
        while (job := await h.bot.engine.store.get(job_id)) is None or job.state is not state:
            await asyncio.sleep(0.02)


def test_resolution_suggestions_follow_the_providers_sizes() -> None:
    toapis = model_spec(PROFILES["toapis"])
    square = resolution_choices(toapis, Ratio.SQUARE, "")
    assert [c.value for c in square] == ["1K", "2K"]  # the seed table has no 4K square
    assert "1024×1024" in square[0].name
    openai = model_spec(PROFILES["openai"])
    assert [c.value for c in resolution_choices(openai, Ratio.SQUARE, "")] == ["1K", "2K", "4K"]
    assert [c.value for c in resolution_choices(openai, Ratio.SQUARE, "4k")] == ["4K"]
    auto = resolution_choices(openai.for_edit(), Ratio.AUTO, "")
    assert "first image" in auto[0].name


def test_quality_is_only_suggested_where_the_provider_has_it() -> None:
    assert [c.value for c in quality_choices(model_spec(PROFILES["openai"]), "")] == [
        "low",
        "medium",
        "high",
    ]
    (only,) = quality_choices(model_spec(PROFILES["infinityblue"]), "")
    assert only.value == "" and "no quality setting" in only.name


async def test_the_resolution_option_autocompletes_from_the_configured_provider(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("infinityblue") as server:
        async for h in open_harness(tmp_path, cdn, [server], session):
            payload = slash_command_payload(
                "imagine",
                [
                    option("prompt", "a fox"),
                    option("ratio", "21:9"),
                    {"name": "resolution", "type": 3, "value": "", "focused": True},
                ],
            )
            payload["type"] = 4  # APPLICATION_COMMAND_AUTOCOMPLETE
            await run(h, payload, lambda c: any(x.is_callback for x in c))
            quality = slash_command_payload(
                "imagine",
                [
                    option("prompt", "a fox"),
                    {"name": "quality", "type": 3, "value": "", "focused": True},
                ],
            )
            quality["type"] = 4
            dispatch(h.bot, quality)
            await h.adapter.wait_for(lambda c: sum(x.is_callback for x in c) == 2, 10)
    first, second = [c for c in h.adapter.calls if c.is_callback]
    assert first.payload is not None and first.payload["type"] == 8
    choices = first.payload["data"]["choices"]
    assert [c["value"] for c in choices] == ["1K", "2K", "4K"]
    assert "2016×864" in choices[0]["name"]
    assert second.payload is not None
    assert second.payload["data"]["choices"][0]["value"] == ""
    assert len(server.requests) == 0


async def test_edit_and_blend_suggest_the_editing_models_tiers_and_quality(
    tmp_path: Path, cdn: Cdn, session: aiohttp.ClientSession
) -> None:
    async with OpenAISandbox("infinityblue") as server:
        async for h in open_harness(tmp_path, cdn, [server], session):
            for name in ("edit", "blend"):
                for focused in ("resolution", "quality"):
                    payload = slash_command_payload(
                        name,
                        [
                            option("ratio", "16:9"),
                            {"name": focused, "type": 3, "value": "", "focused": True},
                        ],
                    )
                    payload["type"] = 4  # APPLICATION_COMMAND_AUTOCOMPLETE
                    dispatch(h.bot, payload)
            await h.adapter.wait_for(lambda c: sum(x.is_callback for x in c) == 4, 10)
    answers = [c.payload["data"]["choices"] for c in h.adapter.calls if c.is_callback and c.payload]
    tiers = [[choice["value"] for choice in a] for a in answers if a and a[0]["value"] != ""]
    assert tiers == [["1K", "2K", "4K"], ["1K", "2K", "4K"]]  # /edit, then /blend
    no_quality = [a for a in answers if a and a[0]["value"] == ""]
    assert len(no_quality) == 2 and all("no quality setting" in a[0]["name"] for a in no_quality)
    assert len(server.requests) == 0
