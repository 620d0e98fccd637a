"""The playground running in the test process, and a real browser (Debian's Chromium, driven by
Playwright) to use its page.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``, which
``python3 dev.py test`` installs with apt-get when it is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import discord.gateway
import discord.http
import pytest
import pytest_asyncio
from PIL import Image

from bot.playground.entry import Playground, open_playground
from bot.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
#: How Chromium logs a 4xx answer: the page shows the member what was wrong; not a page error.
ANSWERED_4XX = "Failed to load resource: the server responded with a status of 4"


def hermetic_settings(**values: Any) -> Settings:
    """Settings from ``values`` alone: no ``.env``, none of the caller's environment."""
    names = {name.lower() for name in Settings.model_fields}
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.lower() in names:
                patch.delenv(key)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_playground(**values: Any) -> AsyncIterator[Playground]:
    """A playground on a free port; discord.py's endpoints are put back afterwards."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    settings = hermetic_settings(
        sandbox_task_duration=2.0, progress_edit_interval=0.5, log_level="INFO", **values
    )
    try:
        async with open_playground(settings, 0) as playground:
            yield playground
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def playground() -> AsyncIterator[Playground]:
    """One playground shared by a module's tests."""
    async with running_playground() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (the system's), shared by a module's tests."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `python3 dev.py test` installs Debian's chromium "
            "(apt-get install chromium); Playwright never downloads browsers here."
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, playground: Playground) -> AsyncIterator[Any]:
    """A fresh tab; any script error or failed request on the page fails the test."""
    context = await browser.new_context(viewport=VIEWPORT)
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" and not message.text.startswith(ANSWERED_4XX)
            else None
        ),
    )
    tab.set_default_timeout(15_000)
    yield tab
    await context.close()
    assert problems == []


class Screens:
    """Saves screenshots for the README when ``--playground-screenshots DIR`` is given."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    async def take(self, tab: Any, name: str, **options: Any) -> None:
        """``DIR/playground-{name}.png``, as a small palette PNG."""
        if self.folder is None:
            return
        await asyncio.sleep(0.3)  # let images and fonts settle
        raw = await tab.screenshot(**options)
        self.folder.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_save_small, raw, self.folder / f"playground-{name}.png")


def _save_small(raw: bytes, path: Path) -> None:
    with Image.open(io.BytesIO(raw)) as image:
        image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(
            path, optimize=True
        )


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Iterator[Screens]:
    """Screenshots for docs/images, only when asked for."""
    folder = request.config.getoption("--playground-screenshots")
    yield Screens(Path(folder) if folder else None)
