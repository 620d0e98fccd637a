"""Fixtures of the engine tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.jobs.engine import Engine
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.support.engines import running_engine
from tests.support.providers import toapis_provider


@pytest.fixture
def provider(sandbox: Sandbox, session: aiohttp.ClientSession) -> ToAPIsProvider:
    """GPT-Image-2 at the ToAPIs emulator (``sandbox``)."""
    return toapis_provider(sandbox, session)


@pytest.fixture
async def engine(provider: ToAPIsProvider, tmp_path: Path) -> AsyncIterator[Engine]:
    """A running engine on ``provider``, its files under ``tmp_path``."""
    async with running_engine(provider, tmp_path) as running:
        yield running
