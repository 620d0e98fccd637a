"""The heap a started bot has built is frozen, so full collections stop walking it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.ops.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the test process as it was


@pytest.mark.usefixtures("unfrozen")
def test_what_lives_at_startup_is_frozen_and_later_garbage_still_collected() -> None:
    survivor = [object() for _ in range(1000)]
    assert freeze_startup_heap() >= len(survivor)
    assert gc.get_freeze_count() > 0

    class Cycle:
        me: object

    later = Cycle()
    later.me = later  # garbage only the collector can free
    del later
    assert gc.collect() >= 1
