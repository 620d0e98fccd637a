"""Starting and stopping the playground as a newcomer does: ``python -m bot`` without a token
prints the page's address within seconds and Ctrl+C (SIGINT) stops everything cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import aiohttp
import pytest

from bot.__main__ import build_parser
from bot.errors import ConfigError
from bot.playground.entry import open_playground, playground_settings
from bot.playground.world import Server
from bot.settings import Settings
from tests.bot.playground.conftest import hermetic_settings

REPO = Path(__file__).resolve().parents[3]
PRINTED_WITHIN = 20.0  # seconds; about 3 on an idle machine, generous for a shared one
STOPPED_WITHIN = 15.0
URL = re.compile(r"Easel playground: (http://127\.0\.0\.1:\d+/)")


def newcomer_environment(**extra: str) -> dict[str, str]:
    """A fresh clone's environment: none of the caller's Easel settings, no token."""
    names = {name.lower() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.lower() not in names}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", **extra)
    return env


async def test_python_m_bot_without_a_token_serves_the_playground_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,  # no .env here
        env=newcomer_environment(PLAYGROUND_PORT="0"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        url = None
        while url is None:
            line = await asyncio.wait_for(proc.stdout.readline(), PRINTED_WITHIN)
            assert line, f"exited early: {(await proc.stderr.read()).decode()[-3000:]}"
            match = URL.search(line.decode())
            url = match[1] if match else None
        printed_after = time.monotonic() - started
        async with aiohttp.ClientSession() as http, http.get(url) as page:
            assert page.status == 200
            assert ">Easel playground</title>" in await page.text()
        async with aiohttp.ClientSession() as http, http.get(f"{url}api/state?as=alice") as state:
            world = await state.json()
        assert world["bot"]["connected"] and world["provider"].startswith("Sandbox")
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), STOPPED_WITHIN)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    stdout = (await proc.stdout.read()).decode()
    stderr = (await proc.stderr.read()).decode()
    assert code == 0, stderr[-3000:]
    assert "stopping the playground" in stdout
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr[-3000:]
    assert printed_after < PRINTED_WITHIN
    assert not list(tmp_path.iterdir()), "the playground left files behind"


async def test_a_signal_while_the_bot_starts_stops_it_cleanly(tmp_path: Path) -> None:
    """SIGTERM while the bot loads its commands (before the page is announced): exit 0, no
    traceback, no error; the start's own requests fail on the closed session, as asked."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=newcomer_environment(PLAYGROUND_PORT="0"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    seen: list[str] = []
    try:
        while not any("loaded cogs.usage" in line for line in seen):
            line = await asyncio.wait_for(proc.stderr.readline(), PRINTED_WITHIN)
            assert line, f"exited early: {''.join(seen)[-3000:]}"
            seen.append(line.decode())
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), STOPPED_WITHIN)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    stderr = "".join(seen) + (await proc.stderr.read()).decode()
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr[-3000:]


async def test_a_port_in_use_is_a_setting_to_change_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as refused:
            async with open_playground(hermetic_settings(), port):
                pass
    assert refused.value.setting == "PLAYGROUND_PORT"
    assert f"{port} is in use" in str(refused.value)


def test_the_page_is_on_8765_unless_told_otherwise() -> None:
    assert hermetic_settings().playground_port == 8765
    assert hermetic_settings(playground_port=9000).playground_port == 9000
    args = build_parser().parse_args(["playground", "--port", "8800"])
    assert (args.command, args.port) == ("playground", 8800)


def test_the_playgrounds_database_and_images_share_its_own_folder(tmp_path: Path) -> None:
    ld = SimpleNamespace(bot_token="t", api_base="http://127.0.0.1:1/api", gateway_url="ws://x")
    server = cast(Server, SimpleNamespace(ld=ld))

    paths = playground_settings(hermetic_settings(), server, tmp_path).state_paths

    assert paths.database == tmp_path / "easel.sqlite3"
    assert paths.files == tmp_path / "files"
