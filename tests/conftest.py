"""Fixtures shared across the test packages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.sandbox.server import Sandbox

# The throwaway PostgreSQL server (``postgres_server``, ``postgres_url``), and ``database_url``
# / ``database`` that run a test on SQLite and then on PostgreSQL.
pytest_plugins = ["tests.support.postgres", "tests.support.databases"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--playground-screenshots DIR``: the browser tests save the README's screenshots there."""
    parser.addoption(
        "--playground-screenshots",
        metavar="DIR",
        default=None,
        help="save screenshots of the playground (docs/images) while its browser tests run",
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP session for a test's providers, closed when the test ends."""
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """The ToAPIs emulator; a module sets how long its tasks take with ``SANDBOX_TASK_SECONDS``."""
    async with Sandbox(task_duration=getattr(request.module, "SANDBOX_TASK_SECONDS", 0.2)) as sb:
        yield sb
