"""What every upstream emulator shares: a loopback server, a request log, a fault queue, auth.

``server.Sandbox`` (ToAPIs) and ``openai_server.OpenAISandbox`` (the OpenAI-compatible APIs)
differ in their routes, endpoint names, what a logged request records and how a fault or a bad
key answers; that stays in each module. What tests and benchmarks drive the same way on both
(``start``/``stop``, ``requests``, ``count``, ``add_fault``, ``/_sandbox/faults``) lives here once.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.lifecycle import Stoppable

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never reachable from outside the machine

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoggedEntry(Protocol):
    """A logged request: its endpoint, and the status filled in once answered."""

    @property
    def endpoint(self) -> str: ...

    status: int | None


class FaultRule(Protocol):
    """A one-shot fault: what it targets and how many more requests (or seconds) it applies to."""

    times: int
    seconds: float | None
    until: float | None

    def matches(self, endpoint: Any, /) -> bool: ...

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...


class RuleFields(BaseModel):
    """The fields every emulator's fault rule has; each adds ``endpoint``, ``kind``, ``matches``."""

    model_config = ConfigDict(extra="forbid")

    times: int = Field(default=1, ge=1)
    retry_after: float = Field(default=1.0, ge=0, description="Retry-After seconds (429 only)")
    hang: float = Field(default=30.0, ge=0, description="seconds to hang (timeout, stalls)")
    seconds: float | None = Field(
        default=None,
        gt=0,
        description="an outage: every matching request fails for this many seconds from the "
        "first one (instead of the next ``times`` requests)",
    )
    until: float | None = Field(default=None, description="set by the emulator: when it ends")


RuleT = TypeVar("RuleT", bound=FaultRule)
EndpointT = TypeVar("EndpointT", bound=str)
EntryT = TypeVar("EntryT", bound=LoggedEntry)


class Faults(Protocol[RuleT]):
    """The emulator's fault knobs (a pydantic model): queued rules plus per-API settings."""

    rules: list[RuleT]

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...

    def model_dump(self) -> dict[str, Any]: ...

    def model_dump_json(self) -> str: ...


class FaultsUpdate(Protocol[RuleT]):
    """The body of ``POST /_sandbox/faults``: reset, set knobs, append rules."""

    reset: bool
    rules: list[RuleT]

    def model_dump(self, *, exclude: set[str], exclude_none: bool) -> dict[str, Any]: ...


async def broken_answer(request: web.Request) -> web.StreamResponse:
    """An answer cut off after its first bytes: the client sees the connection reset midway."""
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "image/png", "Content-Length": str(1024 * 1024)}
    )
    await response.prepare(request)
    await response.write(b"\x89PNG\r\n\x1a\n")
    if request.transport is not None:
        request.transport.close()
    return response


class Emulator(Stoppable, Generic[EndpointT, EntryT, RuleT]):
    """The shared half of an emulator: ``async with Emulator(...) as api:``, ``api.base_url``.

    A subclass names its routes (``_routes``), sorts requests into endpoints (``_classify``),
    says what it logs (``_new_entry``) and answers around its handlers (``_guarded``: latency,
    faults, auth), since every API does those its own way.
    """

    name = "Emulator"  # for log lines
    client_max_size = 1024**2  # aiohttp's request body limit

    def __init__(
        self,
        faults: Faults[RuleT],
        parse_update: Callable[[Any], FaultsUpdate[RuleT]],
        *,
        api_key: str | None,
        request_log_size: int,
    ) -> None:
        self.faults = faults
        self._default_faults = faults.model_copy(deep=True)
        self._parse_update = parse_update
        self.requests: deque[EntryT] = deque(maxlen=request_log_size)
        self._api_key = api_key
        self._counts: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._started = time.monotonic()
        self._base_url: str | None = None

    # ------------------------------------------------------------------ per API

    def _routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def _classify(self, method: str, path: str) -> EndpointT:
        raise NotImplementedError

    def _new_entry(self, request: web.Request, endpoint: EndpointT, now: float) -> EntryT:
        raise NotImplementedError

    async def _guarded(
        self, request: web.Request, endpoint: EndpointT, handler: Handler
    ) -> web.StreamResponse:
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid after ``start``."""
        if self._base_url is None:
            raise RuntimeError(f"the {self.name} is not running; await start() first")
        return self._base_url

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (port 0 picks a free one) and return the base URL."""
        if self._runner is not None:
            return self.base_url
        app = web.Application(middlewares=[self._middleware], client_max_size=self.client_max_size)
        app.add_routes(
            [
                *self._routes(),
                web.get("/_sandbox/faults", self._get_faults),
                web.post("/_sandbox/faults", self._set_faults),
            ]
        )
        # handler_cancellation: a client that gave up (timeout fault) frees its handler at once.
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        # A real image API accepts a burst of new connections; aiohttp's default backlog (128)
        # would drop the SYNs of 200 jobs starting at once and add the kernel's 1 s retry.
        site = web.TCPSite(runner, HOST, port, backlog=2048)
        await site.start()
        self._runner = runner
        self._started = time.monotonic()
        self._base_url = f"http://{HOST}:{runner.addresses[0][1]}"
        log.info("%s listening at %s", self.name, self._base_url)
        return self._base_url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._base_url = None

    async def _enter(self) -> None:
        await self.start()

    # ------------------------------------------------------------------ test helpers

    def count(self, endpoint: EndpointT) -> int:
        """How many requests of this kind arrived (faulted ones included)."""
        return self._counts[endpoint]

    def requests_to(self, endpoint: EndpointT) -> list[EntryT]:
        """The logged requests of one kind, oldest first."""
        return [entry for entry in self.requests if entry.endpoint == endpoint]

    # ------------------------------------------------------------------ around every handler

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Log and count every request, then let the API's own rules answer around it."""
        endpoint = self._classify(request.method, request.path)
        now = time.monotonic()
        entry = self._new_entry(request, endpoint, now)
        self.requests.append(entry)
        self._counts[endpoint] += 1
        try:
            response = await self._guarded(request, endpoint, handler)
        except web.HTTPException as exc:  # the router's 404/405, aiohttp's 413
            entry.status = exc.status
            raise
        entry.status = response.status
        return response

    def _accepted_key(self, request: web.Request) -> str | None:
        """The request's Bearer key if this emulator takes it (any key, unless one was set)."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return None
        if self._api_key is not None and not secrets.compare_digest(key, self._api_key):
            return None
        return key

    def _take_fault(self, endpoint: EndpointT) -> RuleT | None:
        """Consume one use of the first queued rule that targets this endpoint.

        A rule with ``seconds`` is an outage: it applies to every matching request until that
        long after the first one it hit, then is dropped.
        """
        now = time.monotonic()
        rules = self.faults.rules
        rules[:] = [r for r in rules if r.until is None or now < r.until]  # outages that ended
        for index, rule in enumerate(rules):
            if not rule.matches(endpoint):
                continue
            if rule.seconds is not None:
                if rule.until is None:
                    rules[index] = rule.model_copy(update={"until": now + rule.seconds})
                return rules[index]
            if rule.times <= 1:
                del rules[index]
            else:
                rules[index] = rule.model_copy(update={"times": rule.times - 1})
            return rule
        return None

    # ------------------------------------------------------------------ control

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.model_dump())

    async def _set_faults(self, request: web.Request) -> web.Response:
        try:
            update = self._parse_update(await request.json())
        except (ValueError, ValidationError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if update.reset:
            self.faults = self._default_faults.model_copy(deep=True)
        for name, value in update.model_dump(exclude={"reset", "rules"}, exclude_none=True).items():
            setattr(self.faults, name, value)
        self.faults.rules.extend(update.rules)
        log.info("%s faults now %s", self.name, self.faults.model_dump_json())
        return web.json_response(self.faults.model_dump())
