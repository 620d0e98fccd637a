"""The clock Discord's interaction deadlines are measured on, which tests can move forward."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class Clock:
    """Monotonic time plus an offset that ``advance`` grows (never shrinks).

    Only the fake's own rules (3 s acknowledgement, 15 min token life, rate-limit windows) read it;
    the bot keeps its real clock, exactly as with real Discord.
    """

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds on the controllable monotonic clock."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward, e.g. ``advance(15 * 60)`` to expire every interaction token."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    @property
    def offset(self) -> float:
        """How far the clock has been advanced in total."""
        return self._offset
