"""Fixtures of the engine tests."""

from __future__ import annotations

import aiohttp
import pytest

from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.server import Sandbox
from tests.support.providers import toapis_provider


@pytest.fixture
def provider(sandbox: Sandbox, session: aiohttp.ClientSession) -> ToAPIsProvider:
    """GPT-Image-2 at the ToAPIs emulator (``sandbox``)."""
    return toapis_provider(sandbox, session)
