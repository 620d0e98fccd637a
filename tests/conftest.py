"""Fixtures shared across the test packages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP session for a test's providers, closed when the test ends."""
    async with aiohttp.ClientSession() as http:
        yield http
