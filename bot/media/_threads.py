"""The worker threads all Pillow work runs in, so it never blocks the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from bot.media.limits import MEDIA_THREADS

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

THREAD_NAME_PREFIX = "easel-media"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _get_executor() -> ThreadPoolExecutor:
    """Create the pool on first use.

    A pool of its own rather than the loop's default executor (what ``asyncio.to_thread`` uses):
    200 jobs encoding at once would otherwise queue DNS lookups and other ``to_thread`` users
    behind seconds of Pillow work, and one worker per CPU bounds the decoded images in memory.
    """
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=MEDIA_THREADS, thread_name_prefix=THREAD_NAME_PREFIX
            )
        return _executor


async def run_sync(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``func`` in a media worker thread, like ``asyncio.to_thread`` (context included)."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()

    def call() -> T:
        return ctx.run(func, *args, **kwargs)

    return await loop.run_in_executor(_get_executor(), call)
