"""Under a burst, job commands are acknowledged as they arrive from the gateway.

When a few hundred members press at once, discord.py reads every event waiting on the socket,
builds each interaction and runs the command tree up to its defer before any defer is written;
the last member waits for all of it. From ``BURST`` interactions awaiting their acknowledgement
on (``bot.ack_gate``), a job command (``/imagine``, ``/edit``, ``/blend``) is therefore
acknowledged privately straight from its gateway payload, and handed to discord.py (parsed,
checked, run) once the burst is acknowledged, at most ``AckGate.max_wait`` later. The command
then finds itself acknowledged privately (``take``): a refusal is told in that private message
and an accepted job gets its public message once it is recorded, as a job with images does.
Below the threshold nothing changes, so a lone member never notices the rule.

discord.py has no hook before it builds an interaction, so this wraps its parser of
``INTERACTION_CREATE`` (``ConnectionState.parsers``) and sends the defer through its own webhook
adapter, as ``InteractionResponse.defer`` does, on a pool of at most ``CONNECTIONS`` connections
to Discord's API kept for these defers. discord.py's own pool opens one connection per request
in flight, so a burst of a hundred defers opened a hundred connections, each a TCP (and in
production TLS) handshake that cost more than the request it carried; a bounded pool reuses them,
within the burst and for the next one, and a defer waits at most a few round trips for one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import discord
from discord.webhook.async_ import async_context, interaction_response_params

from bot.ack_gate import BURST, AckGate
from bot.policy.models import JobCommand

log = logging.getLogger(__name__)

_JOB_COMMANDS = frozenset(str(command) for command in JobCommand)
_APPLICATION_COMMAND = 2  # the interaction type of a slash command
_CHAT_INPUT = 1  # the application command type of a slash command
_DEFERRED_CHANNEL_MESSAGE = 5  # "thinking…"
_EPHEMERAL = 1 << 6
_FORGET_AFTER = 60.0  # an early acknowledgement nobody took by then is dropped
#: Connections to Discord's API for early defers (each carries one request at a time).
CONNECTIONS = 24

__all__ = ["BURST", "EarlyAcknowledger", "is_job_command"]

Parser = Callable[[Any], None]


def is_job_command(data: Mapping[str, Any]) -> bool:
    """Whether a gateway ``INTERACTION_CREATE`` payload is a job's slash command in a server."""
    if data.get("type") != _APPLICATION_COMMAND or not data.get("guild_id"):
        return False
    command: Mapping[str, Any] = data.get("data") or {}
    return command.get("type", _CHAT_INPUT) == _CHAT_INPUT and command.get("name") in _JOB_COMMANDS


class EarlyAcknowledger:
    """Counts job commands as they arrive and, in a burst, defers them before discord.py does."""

    def __init__(self, client: discord.Client, gate: AckGate) -> None:
        self.client = client
        self.gate = gate
        self._session: aiohttp.ClientSession | None = None  # made on the first early defer
        self._early: dict[int, bool] = {}  # interaction id → acknowledged at the gateway
        self._parked: set[asyncio.Task[None]] = set()
        self._release = asyncio.Event()  # set while disabled: nothing waits for a burst's end
        self._release.set()
        self._acknowledged = 0  # early acknowledgements of the burst under way, for its log line

    def install(self, parsers: dict[str, Parser]) -> None:
        """Take over discord.py's ``INTERACTION_CREATE`` parser (``ConnectionState.parsers``)."""
        parse = parsers["INTERACTION_CREATE"]

        def on_interaction_create(data: Any) -> None:
            self.arrived(data, parse)

        parsers["INTERACTION_CREATE"] = on_interaction_create

    def arrived(self, data: Any, parse: Parser) -> None:
        """One interaction from the gateway: parse it now, or acknowledge it first in a burst."""
        if not isinstance(data, dict) or not is_job_command(data):
            parse(data)
            return
        interaction_id = int(data["id"])
        in_burst = self.enabled and self.gate.pending >= self.gate.burst
        self.gate.arrived(interaction_id)
        if not in_burst:
            parse(data)
            return
        task = asyncio.get_running_loop().create_task(
            self._acknowledge_then_parse(data, parse, interaction_id),
            name=f"early-ack-{interaction_id}",
        )
        self._parked.add(task)
        task.add_done_callback(self._parked.discard)

    def take(self, interaction_id: int) -> bool:
        """Whether the gateway acknowledged this interaction privately (asked once, by the
        command's first check)."""
        return self._early.pop(interaction_id, False)

    @property
    def enabled(self) -> bool:
        """Whether job commands are acknowledged early in a burst now."""
        return not self._release.is_set()

    def enable(self) -> None:
        """Acknowledge early from now on: only while something adopts those acknowledgements
        (the command tree's first check, ``cogs.burst``), or discord.py would answer twice."""
        self._release.clear()

    def disable(self) -> None:
        """Stop acknowledging early, and hand every interaction waiting for its burst's end to
        discord.py now (at shutdown: while the commands are still loaded)."""
        self._release.set()

    async def _acknowledge_then_parse(
        self, data: dict[str, Any], parse: Parser, interaction_id: int
    ) -> None:
        try:
            acknowledged = await self._defer_privately(interaction_id, str(data["token"]))
        except discord.NotFound as exc:  # 10062: Discord no longer knows it; nothing to run
            log.info("interaction %s: too late to acknowledge (%s)", interaction_id, exc.text)
            return
        finally:
            self.gate.answered(interaction_id)
        if acknowledged:
            self._acknowledged += 1
            self._early[interaction_id] = True
            asyncio.get_running_loop().call_later(
                _FORGET_AFTER, self._early.pop, interaction_id, None
            )
        await self._burst_acknowledged()
        if self._acknowledged:
            log.info("a burst: %d job command(s) acknowledged as they arrived", self._acknowledged)
            self._acknowledged = 0
        try:
            parse(data)
        except Exception:  # discord.py's own parser: it would have raised into the gateway
            log.exception("interaction %s: discord.py could not read it", interaction_id)

    async def close(self) -> None:
        """Close the defers' connections (after the gateway, when nothing defers any more)."""
        self.disable()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _connections(self) -> aiohttp.ClientSession:
        """The defers' own pool, traced like discord.py's session (the REST metrics)."""
        if self._session is None:
            trace = self.client.http.http_trace
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                trace_configs=None if trace is None else [trace],
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def _defer_privately(self, interaction_id: int, token: str) -> bool:
        """Send the private "thinking…"; False when it may not have arrived (the command then
        acknowledges as usual and finds out)."""
        http = self.client.http
        try:
            await async_context.get().create_interaction_response(
                interaction_id,
                token,
                session=self._connections(),
                proxy=http.proxy,
                proxy_auth=http.proxy_auth,
                params=interaction_response_params(
                    type=_DEFERRED_CHANNEL_MESSAGE, data={"flags": _EPHEMERAL}
                ),
            )
        except discord.NotFound:
            raise
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("interaction %s: the early defer failed (%r)", interaction_id, exc)
            return False
        return True

    async def _burst_acknowledged(self) -> None:
        """Until no acknowledgement is awaited (at most ``max_wait``), or shutdown."""
        if self._release.is_set():
            return
        release = asyncio.ensure_future(self._release.wait())
        quiet = asyncio.ensure_future(self.gate.wait_until_quiet())
        try:
            await asyncio.wait({release, quiet}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            release.cancel()
            quiet.cancel()
