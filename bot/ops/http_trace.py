"""Every HTTP request an aiohttp session sends, reported once it is answered or has failed.

aiohttp calls a ``TraceConfig``'s hooks for each request of a session built with it, so the
image APIs' session and discord.py's REST session are measured without touching the code that
sends them: the provider clients only name themselves in ``trace_request_ctx``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from bot.network import CauseKind, network_cause

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RequestDone:
    """One request's outcome: the answer's status and headers, or why there was none."""

    method: str
    url: URL
    seconds: float  # from sending to the answer's headers (or the failure)
    status: int | None  # None: no answer
    failure: CauseKind | None  # set when there was no answer
    headers: CIMultiDictProxy[str] | None
    context: object  # the request's ``trace_request_ctx`` (providers pass a dict)

    @property
    def outcome(self) -> str:
        """A metric label: the HTTP status, else the failure kind (``network`` if unknown)."""
        return str(self.status) if self.status is not None else self.failure or "network"


def request_trace(on_done: Callable[[RequestDone], None]) -> aiohttp.TraceConfig:
    """A trace config that calls ``on_done`` for every request (a failing callback is logged)."""
    trace = aiohttp.TraceConfig()

    async def started(
        _: aiohttp.ClientSession, ctx: SimpleNamespace, __: aiohttp.TraceRequestStartParams
    ) -> None:
        ctx.started = time.perf_counter()

    async def ended(
        _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        response = params.response
        report(ctx, params.method, params.url, response.status, None, response.headers)

    async def failed(
        _: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        if isinstance(params.exception, asyncio.CancelledError):
            return  # stopped by us (shutdown, a cancelled job): not an outcome of the request
        cause = network_cause(params.exception)
        report(ctx, params.method, params.url, None, cause.kind, None)

    def report(
        ctx: SimpleNamespace,
        method: str,
        url: URL,
        status: int | None,
        failure: CauseKind | None,
        headers: CIMultiDictProxy[str] | None,
    ) -> None:
        seconds = time.perf_counter() - getattr(ctx, "started", time.perf_counter())
        done = RequestDone(
            method, url, seconds, status, failure, headers, getattr(ctx, "trace_request_ctx", None)
        )
        try:
            on_done(done)
        except Exception:
            log.exception("recording a request to %s failed", url.host)

    trace.on_request_start.append(started)
    trace.on_request_end.append(ended)
    trace.on_request_exception.append(failed)
    return trace
