"""Fixtures of the emulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client for calling the emulators' endpoints directly."""
    async with aiohttp.ClientSession() as session:
        yield session
