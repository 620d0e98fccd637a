"""What every REST resource shares: responses, parsing, bot auth and the request log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from local_discord.clock import Clock
from local_discord.errors import (
    UNAUTHORIZED,
    DiscordError,
    form_error,
    missing_access,
    missing_permissions,
)
from local_discord.interactions import FileSummary
from local_discord.payloads import dumps_utf8
from local_discord.permissions import Permission
from local_discord.ratelimit import generic_headers
from local_discord.state import UploadedFile

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Query values Discord reads as true (``?wait=true``, ``?with_response=1``).
TRUE = ("1", "true", "True")

_BODY: web.RequestKey[Any] = web.RequestKey("ld_json")
_FILES: web.RequestKey[list[FileSummary]] = web.RequestKey("ld_files", list)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """``Content-Type: application/json`` exactly (discord.py compares the header literally)."""
    return web.Response(
        body=dumps_utf8(data), status=status, content_type="application/json", headers=headers
    )


def no_content() -> web.Response:
    """204."""
    return web.Response(status=204)


def snowflake(request: web.Request, key: str) -> int:
    """A snowflake from the path, or Discord's form error for one that is not."""
    raw = request.match_info[key]
    try:
        return int(raw)
    except ValueError:
        raise form_error(key, "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.') from None


def require(perms: int, needed: Permission) -> None:
    """Discord's order: no VIEW_CHANNEL is Missing Access, anything else Missing Permissions."""
    if not perms & Permission.VIEW_CHANNEL:
        raise missing_access()
    if perms & needed != needed:
        raise missing_permissions()


async def read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """JSON or ``multipart/form-data`` (``payload_json`` + ``files[n]``), recorded for tests."""
    files: list[UploadedFile] = []
    payload: Any = None
    try:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                # aiohttp re-parses Content-Disposition on every .name/.filename access.
                name = part.name or ""
                if name == "payload_json":
                    payload = json.loads(await part.text())
                    continue
                filename = part.filename
                if (name.startswith("files[") and name.endswith("]")) or filename:
                    try:
                        index = int(name[6:-1])
                    except ValueError:
                        index = len(files)
                    data = bytes(await part.read())
                    files.append(
                        UploadedFile(
                            index=index,
                            filename=filename or f"file{index}",
                            content_type=part.headers.get(hdrs.CONTENT_TYPE),
                            data=data,
                        )
                    )
        elif request.can_read_body:
            raw = await request.read()
            payload = json.loads(raw) if raw else None
    except ValueError:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
    request[_BODY] = payload
    request[_FILES] = [
        FileSummary(f"files[{f.index}]", f.filename, len(f.data), f.content_type) for f in files
    ]
    return payload, files


def uploaded(request: web.Request) -> list[FileSummary]:
    """What ``read_body`` saw uploaded with this request."""
    files: list[FileSummary] = request.get(_FILES, [])
    return files


@dataclass(frozen=True, slots=True)
class BotAuth:
    """``Authorization: Bot <token>``, the only credential the fake accepts."""

    token: Callable[[], str]

    def authorized(self, request: web.Request) -> bool:
        """The request carries the bot's token."""
        return request.headers.get(hdrs.AUTHORIZATION) == f"Bot {self.token()}"

    def check(self, request: web.Request) -> None:
        """401 unless ``authorized``."""
        if not self.authorized(request):
            raise DiscordError(401, UNAUTHORIZED, "401: Unauthorized")


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request as Discord saw it (bodies are kept by reference, never copied)."""

    method: str
    route: str | None
    path: str
    query: dict[str, str]
    status: int
    at: float
    wall: float
    duration: float
    json: Any = None
    files: list[FileSummary] = field(default_factory=list)
    error_code: int | None = None
    authorized: bool = False
    peer: str | None = None  # the client's address:port, one per connection

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class RequestLog:
    """The middleware: Discord-shaped errors, rate-limit headers on every API answer, the log."""

    clock: Clock
    auth: BotAuth
    _: KW_ONLY
    enabled: Callable[[], bool]
    on_change: Callable[[], None]
    #: Told of every request as it is answered, kept in ``requests`` or not (the feed).
    on_record: Callable[[RequestRecord], None] | None = None
    #: Every HTTP request, in arrival order.
    requests: list[RequestRecord] = field(default_factory=list)
    #: Unexpected exceptions inside the fake (answered as 500); tests should expect none.
    internal_errors: list[str] = field(default_factory=list)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer ``request`` through ``handler``, turning errors into Discord's JSON."""
        start = self.clock.now()
        wall = time.time()
        route: str | None = None
        resource = request.match_info.route.resource
        if resource is not None:
            route = resource.canonical
            if route.startswith(API_PREFIX):
                route = route[len(API_PREFIX) :]
        error_code: int | None = None
        resp: web.StreamResponse
        try:
            resp = await handler(request)
        except DiscordError as exc:
            resp = json_response(exc.body(), exc.status, exc.headers)
            error_code = exc.code
        except web.HTTPException as exc:
            resp = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status)
            error_code = 0
        except Exception as exc:
            # A bug in the fake, not a Discord rule: keep it visible to the tests.
            log.exception("LocalDiscord failed on %s %s", request.method, request.path)
            self.internal_errors.append(f"{request.method} {request.path}: {exc!r}")
            resp = json_response({"message": "500: Internal Server Error", "code": 0}, 500)
            error_code = 0
        if request.path.startswith(API_PREFIX) and not resp.prepared:
            for key, value in generic_headers(route or request.path).items():
                resp.headers.setdefault(key, value)
        keep = self.enabled()
        if route != "/gateway" and (keep or self.on_record is not None):
            record = RequestRecord(
                method=request.method,
                route=route,
                path=request.path,
                query=dict(request.query),
                status=resp.status,
                at=start,
                wall=wall,
                duration=self.clock.now() - start,
                json=request.get(_BODY),
                files=uploaded(request),
                error_code=error_code,
                authorized=self.auth.authorized(request),
                peer=_peer(request),
            )
            if keep:
                self.requests.append(record)
                self.on_change()
            if self.on_record is not None:
                self.on_record(record)
        return resp


def _peer(request: web.Request) -> str | None:
    """``host:port`` of the connection the request came on (which connection a client reused)."""
    transport = request.transport
    address = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return None
