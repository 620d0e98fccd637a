"""``async with`` for Easel's parts that run between ``start`` and ``stop``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Stoppable(ABC):
    """A part used as ``async with part:``: entering starts it, leaving awaits ``stop()``.

    ``_enter`` starts it (nothing by default); ``stop`` must be safe to call when not started.
    """

    async def _enter(self) -> None:
        """Start the part as the ``async with`` block begins (nothing by default)."""
        return

    @abstractmethod
    async def stop(self) -> None:
        """Let go of what the part holds; safe when it never started."""

    async def __aenter__(self) -> Self:
        await self._enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
