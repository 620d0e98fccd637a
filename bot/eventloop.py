"""Which asyncio event loop runs the process: uvloop when installed (``EVENT_LOOP=auto``).

uvloop runs the same asyncio code with the loop, sockets and timers in C; a bot that is bound by
its own CPU while a burst of interactions arrives gets through the burst sooner. It is optional
(not on Windows, not on every Python): ``auto`` uses it when importable, ``asyncio`` never does,
``uvloop`` insists and refuses to start without it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from bot.errors import ConfigError

log = logging.getLogger(__name__)

EventLoopChoice = Literal["auto", "asyncio", "uvloop"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
T = TypeVar("T")


def _uvloop_factory() -> LoopFactory | None:
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def loop_factory(choice: EventLoopChoice) -> tuple[str, LoopFactory | None]:
    """The loop's name and factory (None: asyncio's default) for ``EVENT_LOOP``."""
    if choice == "asyncio":
        return "asyncio", None
    factory = _uvloop_factory()
    if factory is not None:
        return "uvloop", factory
    if choice == "uvloop":
        raise ConfigError(
            "EVENT_LOOP",
            "is uvloop but uvloop is not installed: `pip install uvloop`, or set EVENT_LOOP=auto.",
        )
    return "asyncio", None


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice) -> T:
    """``asyncio.run(main)`` on the chosen loop (Python 3.11 has no ``loop_factory`` there)."""
    try:
        name, factory = loop_factory(choice)
    except ConfigError:
        main.close()  # never awaited: close it so Python does not warn about it
        raise
    log.debug("event loop: %s", name)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
