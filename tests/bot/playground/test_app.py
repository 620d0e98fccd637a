"""The playground's HTTP API and event stream, without a browser: what each member may see and
do, what is refused (with what to do instead), and who may talk to the server at all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.i18n import Lang
from bot.playground.entry import Playground
from bot.playground.room import Room
from bot.playground.world import sample_picture

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def http(playground: Playground) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=playground.url) as session:
        yield session


async def state(http: aiohttp.ClientSession, who: str) -> dict[str, Any]:
    async with http.get(f"/api/state?as={who}") as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


def channel_id(world: dict[str, Any], name: str) -> str:
    return next(c["id"] for c in world["channels"] if c["name"] == name)


async def test_each_member_sees_their_channels_and_the_admin_the_moderation_log(
    http: aiohttp.ClientSession,
) -> None:
    alice, sam = await state(http, "alice"), await state(http, "sam")
    assert [c["name"] for c in alice["channels"]] == ["general", "after-dark"]
    assert [(c["name"], c["nsfw"], c["modlog"]) for c in sam["channels"]] == [
        ("general", False, False),
        ("after-dark", True, False),
        ("mod-log", False, True),
    ]
    assert [p["name"] for p in alice["personas"]] == ["alice", "bob", "sam"]
    assert alice["me"]["name"] == "alice" and sam["me"]["admin"] is True
    assert alice["bot"]["connected"] is True
    assert alice["provider"].startswith("Sandbox")
    async with http.get("/api/state?as=mallory") as response:
        assert response.status == 404
        assert "no member 'mallory'" in (await response.json())["error"]


async def test_the_moderation_log_is_set_up_and_hidden_from_members(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    modlog = str(playground.server.modlog_id)
    async with http.get(f"/api/channels/{modlog}?as=sam") as response:
        view = await response.json()
    titles = [e.get("title") for m in view["messages"] for e in m["message"]["embeds"]]
    assert "⚙️ Settings changed" in titles
    async with http.get(f"/api/channels/{modlog}?as=alice") as response:
        assert response.status == 404


async def test_commands_listed_follow_the_member_and_the_channel(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    general = playground.server.general_id
    async with http.get(f"/api/channels/{general}?as=alice") as response:
        alice = await response.json()
    async with http.get(f"/api/channels/{general}?as=sam") as response:
        sam = await response.json()
    assert "easel" not in [c["name"] for c in alice["commands"]]
    assert "easel" in [c["name"] for c in sam["commands"]]
    assert [c["name"] for c in alice["apps"]] == ["Edit image"]


async def test_a_plain_message_with_a_file_is_posted_and_served(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    picture = sample_picture(64, 48)
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        json.dumps(
            {"as": "bob", "channel": str(playground.server.general_id), "content": "my cat"}
        ),
    )
    form.add_field("files", picture, filename="cat.png", content_type="image/png")
    async with http.post("/api/messages", data=form) as response:
        assert response.status == 200
        posted = (await response.json())["message"]
    [attachment] = posted["attachments"]
    assert attachment["url"].startswith("/media/") and attachment["width"] == 64
    async with http.get(attachment["url"]) as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == picture
    async with http.get("/media/1/none.png") as response:
        assert response.status == 404


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"as": "bob", "content": "   "}, "Write something or attach a file."),
        ({"as": "bob", "content": "x" * 2001}, "Messages hold 2,000 characters; this has 2,001."),
        ({"as": "bob", "content": "hi", "extra": 1}, "extra: Extra inputs are not permitted"),
    ],
)
async def test_a_message_discord_would_refuse_is_refused_with_the_reason(
    http: aiohttp.ClientSession, playground: Playground, body: dict[str, Any], error: str
) -> None:
    body = {**body, "channel": str(playground.server.general_id)}
    async with http.post("/api/messages", json=body) as response:
        assert response.status == 400
        assert (await response.json())["error"] == error


async def test_commands_are_checked_as_discords_client_checks_them(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    general = str(playground.server.general_id)
    dispatched = len(playground.server.ld.world.interactions)
    cases = [
        ({"as": "alice", "name": "imagine"}, 400, "missing required option 'prompt'"),
        ({"as": "alice", "name": "imagine", "options": {"prompt": "x", "n": 11}}, 400, "outside"),
        ({"as": "alice", "name": "easel", "subcommand": "settings"}, 403, "no command 'easel'"),
        ({"as": "sam", "name": "easel"}, 400, "Pick a subcommand of /easel."),
        ({"as": "alice", "name": "imagine", "options": {"style": "x"}}, 400, "Unknown option"),
    ]
    for body, status, error in cases:
        async with http.post("/api/commands", json={"channel": general, **body}) as response:
            assert response.status == status, body
            assert error in (await response.json())["error"]
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        json.dumps(
            {"as": "alice", "channel": general, "name": "imagine", "options": {"prompt": "x"}}
        ),
    )
    form.add_field("file:prompt", b"not an option for files", filename="a.png")
    async with http.post("/api/commands", data=form) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "/imagine has no file option 'prompt'."
    assert len(playground.server.ld.world.interactions) == dispatched


async def test_an_answer_reaches_the_event_stream_with_who_may_see_it(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    """A refusal is ephemeral: its event names Alice as the only viewer."""
    general = str(playground.server.general_id)
    alice = next(p for p in playground.room.personas if p.name == "alice")
    async with http.ws_connect("/api/events") as events:
        body = {
            "as": "alice",
            "channel": general,
            "name": "imagine",
            "options": {"prompt": "a pond", "compression": 80},
        }
        async with http.post("/api/commands", json=body) as response:
            answer = await response.json()
        assert answer["answered"] is True and answer["type"] == 4
        while True:
            event = json.loads((await events.receive(timeout=5)).data)
            if event["type"] == "message":
                break
    assert event["kind"] == "create" and event["viewer"] == str(alice.user_id)
    assert event["message"]["flags"] & 64
    assert "compression" in event["message"]["content"]


async def test_only_a_form_opened_for_you_can_be_submitted(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    welcome = next(
        m for m in playground.server.ld.messages.values() if "Welcome" in m.payload()["content"]
    )
    async with http.post(
        "/api/apps", json={"as": "alice", "message": str(welcome.id), "name": "Edit image"}
    ) as response:
        opened = await response.json()
    assert opened["modal"]["title"] == "Edit image"
    for who, status in (("bob", 404), ("alice", 200)):
        body = {
            "as": who,
            "interaction": opened["interaction"],
            "fields": {"easel:edit:prompt": "a moon", "easel:edit:area": ["left"]},
        }
        async with http.post("/api/modals", json=body) as response:
            assert response.status == status
    async with http.post(
        "/api/components", json={"as": "alice", "message": str(welcome.id), "custom_id": "nope"}
    ) as response:
        assert response.status == 400
        assert "has no component 'nope'" in (await response.json())["error"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example:80"}, 421),
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
    ],
)
async def test_other_sites_and_rebound_names_cannot_drive_the_playground(
    http: aiohttp.ClientSession, playground: Playground, headers: dict[str, str], status: int
) -> None:
    """A page on another site (or a DNS name rebound to 127.0.0.1) could spend a real key."""
    body = {"as": "alice", "channel": str(playground.server.general_id), "content": "hi"}
    async with http.post("/api/messages", json=body, headers=headers) as response:
        assert response.status == status
    if status == 403:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect("/api/events", headers=headers)


async def test_without_the_bot_a_command_says_easel_is_not_connected() -> None:
    """Before the bot has connected (or after it dropped), nothing is dispatched into the void."""
    from local_discord import LocalDiscord

    async with LocalDiscord() as ld:
        ld.register_commands([{"name": "imagine", "description": "Draw", "options": []}])
        room = Room(ld, [], modlog_channel_id=None, provider_label="", publish=lambda e: None)
        from bot.i18n import literal
        from bot.playground.checks import PlaygroundError
        from bot.playground.room import Persona

        alice = Persona(ld.alice.id, "alice", "Alice", literal("member"))
        with pytest.raises(PlaygroundError, match="not connected") as refused:
            await room.run_command(alice, ld.general.id, "imagine", {}, lang=Lang.of("en-US"))
        assert refused.value.status == 503
        assert ld.interactions == []
        await asyncio.sleep(0)


async def test_the_page_gets_its_words_in_the_nearest_shipped_language(
    http: aiohttp.ClientSession,
) -> None:
    """The stored choice or the browser's languages, in order, mapped to what Easel ships."""

    async def asked(query: str = "", **headers: str) -> dict[str, Any]:
        async with http.get(f"/api/i18n{query}", headers=headers) as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
            return body

    german = await asked("?want=de-AT,ja")
    assert german["locale"] == "de" and german["strings"]["Send"] == "Senden"
    assert german["strings"]["Let everyone use {command}"] == "Alle dürfen {command} verwenden"
    assert {"code": "ja", "name": "日本語"} in german["languages"]
    assert german["languages"][0]["code"] == "en-US"
    assert (await asked("?want=it-IT,pt"))["locale"] == "pt-BR"  # no Italian: the next one
    assert (await asked("?want=es-419"))["locale"] == "es-ES"
    english = await asked("?want=it")
    assert english["locale"] == "en-US" and english["strings"]["Send"] == "Send"
    assert (await asked(**{"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.8"}))["locale"] == "ja"


async def test_the_pages_language_is_the_members_discord_language(
    http: aiohttp.ClientSession, playground: Playground
) -> None:
    """What the page sends carries its language: refusals from the playground itself and the
    bot's answers come back in it, and the interaction's ``locale`` is it, as Discord's is."""
    general = str(playground.server.general_id)
    japanese = {"Accept-Language": "ja"}
    async with http.get("/api/state?as=mallory", headers=japanese) as response:
        assert response.status == 404
        assert (await response.json())["error"] == "'mallory' というメンバーはいません。"
    async with http.get("/api/state?as=sam", headers={"Accept-Language": "de"}) as response:
        sam = await response.json()
    assert sam["me"]["role"] == "Admin: Server verwalten"
    body = {
        "as": "alice",
        "channel": general,
        "name": "imagine",
        "options": {"prompt": "a pond", "ratio": "1:1", "resolution": "4K"},
    }
    async with http.post("/api/commands", json=body, headers=japanese) as response:
        answer = await response.json()
    assert answer["answered"] is True
    handle = playground.server.ld.world.interactions[int(answer["interaction"])]
    assert handle.payload["locale"] == "ja"
    refusal = str((handle.callbacks[0].data or {}).get("content"))
    assert "4K では使えません" in refusal, refusal
    async with http.post("/api/commands", json=body) as response:  # no language: English
        answer = await response.json()
    handle = playground.server.ld.world.interactions[int(answer["interaction"])]
    assert handle.payload["locale"] == "en-US"
    assert "not available" in str((handle.callbacks[0].data or {}).get("content"))
