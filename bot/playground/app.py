"""The playground's web server (aiohttp): the page, its JSON API and a WebSocket of live events.

Only 127.0.0.1 may be bound, and a request must name this server as its host (no DNS rebinding)
and, when a browser says where it comes from, come from this page: another site open in the same
browser cannot drive the playground, which may be spending a real image API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.i18n import Lang, _, _n
from bot.playground.checks import MAX_FILE_BYTES, MAX_FILES, PlaygroundError
from bot.playground.chrome import page_language, page_text
from bot.playground.ports import JSON, Upload
from bot.playground.room import Room

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK = ("127.0.0.1", "localhost")
CLIENT_BACKLOG = 2000  # events a slow page may fall behind before it is told to reload
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Hub:
    """Fans events out to every open page."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[JSON | None]] = set()

    def publish(self, event: JSON) -> None:
        """Queue ``event`` for every page; a page too far behind is dropped (it reloads)."""
        for queue in tuple(self._queues):
            if queue.qsize() >= CLIENT_BACKLOG:
                self._queues.discard(queue)
                queue.put_nowait(None)
                continue
            queue.put_nowait(event)

    def join(self) -> asyncio.Queue[JSON | None]:
        """A page's queue of events, from now on."""
        queue: asyncio.Queue[JSON | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[JSON | None]) -> None:
        """Stop queueing for a page."""
        self._queues.discard(queue)

    def close(self) -> None:
        """End every page's stream (the server is stopping)."""
        for queue in tuple(self._queues):
            queue.put_nowait(None)
        self._queues.clear()


ROOM = web.AppKey("room", Room)
HUB = web.AppKey("hub", Hub)


# --------------------------------------------------------------------- request bodies
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    as_: str = Field(alias="as", min_length=1, max_length=40)


Value = str | int | float | bool | None


class CommandBody(_Body):
    channel: int
    name: str = Field(min_length=1, max_length=32)
    subcommand: str | None = Field(default=None, max_length=65)
    options: dict[str, Value] = Field(default_factory=dict)


class AutocompleteBody(CommandBody):
    focused: str = Field(min_length=1, max_length=32)


class MessageBody(_Body):
    channel: int
    content: str = ""


class ComponentBody(_Body):
    message: int
    custom_id: str = Field(min_length=1, max_length=100)
    values: list[str] | None = Field(default=None, max_length=25)


class AppBody(_Body):
    message: int
    name: str = Field(min_length=1, max_length=32)


class ModalBody(_Body):
    interaction: int
    fields: dict[str, str | list[str]] = Field(default_factory=dict)


class ControlsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    everyone_easel: bool | None = None
    tight_rate_limits: bool | None = None


# --------------------------------------------------------------------- middleware
@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer only requests addressed to this loopback server from this page (or no page)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = str(sockname[1]) if sockname else ""
    host, colon, host_port = request.host.rpartition(":")
    if not colon:  # no port named: the scheme's default
        host, host_port = request.host, "80"
    if host not in LOOPBACK or host_port != port:
        return web.json_response({"error": "Open the playground at 127.0.0.1."}, status=421)
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{request.host}":
        return web.json_response({"error": "Requests from other sites are refused."}, status=403)
    return await handler(request)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A member's mistake is a 4xx with what to do; a bug is a logged 500."""
    try:
        return await handler(request)
    except PlaygroundError as exc:
        return web.json_response({"error": visitor(request)(exc.text)}, status=exc.status)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        return web.json_response({"error": f"{where}: {first['msg']}"}, status=400)
    except json.JSONDecodeError:
        return web.json_response({"error": "The request body is not JSON."}, status=400)


# --------------------------------------------------------------------- handlers
def visitor(request: web.Request) -> Lang:
    """The language the page asked for (its picker sends it as ``Accept-Language``; without
    one, the browser's own): the playground member's Discord client speaks it."""
    return Lang.of(page_language(request.headers.get("Accept-Language")))


async def i18n(request: web.Request) -> web.Response:
    """The page's own words in the language it asks for (``?want=de`` or the browser's list)."""
    wanted = request.query.get("want") or request.headers.get("Accept-Language")
    return web.json_response(page_text(page_language(wanted)))


async def index(request: web.Request) -> web.StreamResponse:
    """The page."""
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def state(request: web.Request) -> web.Response:
    """The server as one persona sees it."""
    room = request.app[ROOM]
    viewer = room.persona(request.query.get("as", ""))
    return web.json_response(room.state(viewer, visitor(request)))


async def channel(request: web.Request) -> web.Response:
    """A channel's messages and the persona's commands there."""
    room = request.app[ROOM]
    viewer = room.persona(request.query.get("as", ""))
    return web.json_response(room.channel(viewer, _snowflake(request.match_info["channel_id"])))


async def media(request: web.Request) -> web.Response:
    """An attachment's bytes (the page never talks to the local Discord's CDN)."""
    found = request.app[ROOM].media(_snowflake(request.match_info["attachment_id"]))
    if found is None:
        return web.Response(status=404, text="This content is no longer available.")
    data, content_type = found
    return web.Response(
        body=data, content_type=content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


async def run_command(request: web.Request) -> web.Response:
    """A slash command, with its files as multipart parts named ``file:<option>``."""
    payload, files = await _multipart(request)
    body = CommandBody.model_validate(payload)
    room = request.app[ROOM]
    uploads = {field.removeprefix("file:"): upload for field, upload in files}
    result = await room.run_command(
        room.persona(body.as_),
        body.channel,
        body.name,
        body.options,
        subcommand=body.subcommand,
        uploads=uploads,
        lang=visitor(request),
    )
    return web.json_response(result)


async def autocomplete(request: web.Request) -> web.Response:
    """The bot's suggestions for the focused option."""
    body = AutocompleteBody.model_validate(await request.json())
    room = request.app[ROOM]
    choices = await room.autocomplete(
        room.persona(body.as_),
        body.channel,
        body.name,
        body.options,
        body.focused,
        subcommand=body.subcommand,
        lang=visitor(request),
    )
    return web.json_response({"choices": choices})


async def post_message(request: web.Request) -> web.Response:
    """A member's own message, with files as ``files`` parts."""
    payload, files = await _multipart(request)
    body = MessageBody.model_validate(payload)
    room = request.app[ROOM]
    uploads = [upload for _, upload in files]
    return web.json_response(
        await room.post(room.persona(body.as_), body.channel, body.content, uploads)
    )


async def press(request: web.Request) -> web.Response:
    """A button press or a select menu choice."""
    body = ComponentBody.model_validate(await request.json())
    room = request.app[ROOM]
    viewer = room.persona(body.as_)
    answer = await room.press(
        viewer, body.message, body.custom_id, body.values, lang=visitor(request)
    )
    return web.json_response(answer)


async def use_app(request: web.Request) -> web.Response:
    """A message command from the Apps menu."""
    body = AppBody.model_validate(await request.json())
    room = request.app[ROOM]
    viewer = room.persona(body.as_)
    answer = await room.use_app(viewer, body.message, body.name, lang=visitor(request))
    return web.json_response(answer)


async def submit_modal(request: web.Request) -> web.Response:
    """A submitted form."""
    body = ModalBody.model_validate(await request.json())
    room = request.app[ROOM]
    viewer = room.persona(body.as_)
    answer = await room.submit_modal(viewer, body.interaction, body.fields, lang=visitor(request))
    return web.json_response(answer)


async def controls(request: web.Request) -> web.Response:
    """The playground's switches."""
    body = ControlsBody.model_validate(await request.json())
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    return web.json_response(await request.app[ROOM].set_controls(changes))


async def events(request: web.Request) -> web.WebSocketResponse:
    """Live events: messages as they are created and edited, activity, command syncs."""
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    hub = request.app[HUB]
    queue = hub.join()
    reader = asyncio.create_task(_drain(ws))
    try:
        while not ws.closed:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            event = getter.result()
            if event is None:
                break
            await ws.send_str(json.dumps(event, ensure_ascii=False))
    finally:
        hub.leave(queue)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends, until it closes."""
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            break


def _snowflake(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise PlaygroundError(_("{value} is not an ID.", value=repr(raw)), 404) from None


async def _multipart(request: web.Request) -> tuple[Any, list[tuple[str, Upload]]]:
    """``payload_json`` and the files of a multipart body (within Discord's own limits)."""
    if not request.content_type.startswith("multipart/"):
        return await request.json(), []
    payload: Any = {}
    files: list[tuple[str, Upload]] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if name == "payload_json":
            payload = json.loads(await part.text())
            continue
        if len(files) >= MAX_FILES:
            raise PlaygroundError(
                _n("Attach at most {count} file.", "Attach at most {count} files.", MAX_FILES)
            )
        data = bytes(await part.read())
        if len(data) > MAX_FILE_BYTES:
            raise PlaygroundError(_("{name} is over 10 MB.", name=str(part.filename)))
        content_type = part.headers.get("Content-Type", "application/octet-stream")
        files.append((name, (part.filename or "file", data, content_type)))
    return payload, files


def build_app(room: Room, hub: Hub) -> web.Application:
    """The page, the API and the event stream for ``room``."""
    app = web.Application(
        middlewares=[same_origin_only, json_errors],
        client_max_size=(MAX_FILES + 1) * MAX_FILE_BYTES,
    )
    app[ROOM] = room
    app[HUB] = hub
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/media/{attachment_id}/{filename}", media)
    app.router.add_get("/api/i18n", i18n)
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/channels/{channel_id}", channel)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/commands", run_command)
    app.router.add_post("/api/autocomplete", autocomplete)
    app.router.add_post("/api/messages", post_message)
    app.router.add_post("/api/components", press)
    app.router.add_post("/api/apps", use_app)
    app.router.add_post("/api/modals", submit_modal)
    app.router.add_post("/api/controls", controls)
    return app
