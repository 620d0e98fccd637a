"""EVENT_LOOP: uvloop when installed (auto), never (asyncio), or required (uvloop)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from bot import eventloop
from bot.errors import ConfigError

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def loop_type() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_asyncio_never_uses_uvloop() -> None:
    assert eventloop.loop_factory("asyncio") == ("asyncio", None)
    assert eventloop.run(loop_type(), "asyncio").startswith("asyncio")


def test_auto_uses_uvloop_exactly_when_it_is_installed() -> None:
    name, _ = eventloop.loop_factory("auto")
    assert name == ("uvloop" if HAS_UVLOOP else "asyncio")
    assert eventloop.run(loop_type(), "auto").startswith(name)


def test_uvloop_is_refused_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventloop, "_uvloop_factory", lambda: None)
    assert eventloop.loop_factory("auto") == ("asyncio", None)
    main = loop_type()
    with pytest.raises(ConfigError) as caught:
        eventloop.run(main, "uvloop")
    assert caught.value.setting == "EVENT_LOOP" and "pip install uvloop" in str(caught.value)
    assert main.cr_frame is None  # closed, not left to warn "never awaited"
