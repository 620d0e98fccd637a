"""Instant, poll-free waiting: observers are woken by the change itself, never by a timer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Self

log = logging.getLogger(__name__)


class Waitable:
    """Mixin: ``await self._wait_until(pred, timeout)`` wakes exactly when ``_notify()`` runs."""

    _waiters: list[asyncio.Future[None]]

    def changed(self) -> None:
        """Wake ``wait_for`` callers; the server calls it after every change it makes."""
        self._notify()

    async def wait_for(
        self,
        predicate: Callable[[Self], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
    ) -> None:
        """Wait until ``predicate(self)`` holds (re-checked on every change, no polling)."""
        await self._wait_until(predicate, timeout, f"a condition on {self!r}")

    def _notify(self) -> None:
        """Wake every current waiter so it re-checks its predicate (cheap with no waiters)."""
        waiters = self._waiters
        if not waiters:
            return
        self._waiters = []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _wait_until(
        self,
        predicate: Callable[[Self], bool],
        timeout: float,  # noqa: ASYNC109 - test-facing API, like asyncio.wait_for
        what: str,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            handle = loop.call_at(deadline, _expire, fut)
            try:
                await fut
            finally:
                handle.cancel()
                if fut in self._waiters:
                    self._waiters.remove(fut)


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
