"""The real bot process (``python -m bot``) against the local Discord and the ToAPIs sandbox.

The local Discord and the sandbox run in the test process, so tests can drive members and read
everything Discord saw; the bot runs exactly as deployed, configured only through its environment.
Starting the bot costs about 1-2 s, so a test module shares one bot (``stack`` is module-scoped);
tests that change shared knobs put them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.ops.loop_lag import MetricsReport
from bot.sandbox.server import Faults, Sandbox
from bot.settings import Settings
from local_discord import InteractionHandle, LocalDiscord, StoredMessage
from tests.support.cli import SETTING_PREFIXES

REPO_ROOT = Path(__file__).resolve().parents[2]
STDERR_TAIL = 6000  # characters of the bot's stderr shown with a failure
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
TASK_DURATION = 1.0  # default sandbox task length for these tests (seconds)
# Interaction callback types and the ephemeral message flag, as Discord numbers them.
CHANNEL_MESSAGE = 4
DEFERRED = 5
MODAL = 9
EPHEMERAL = 1 << 6

#: The bot's environment for these tests: fast polls so jobs take about TASK_DURATION.
BOT_ENV = {
    "IMAGE_PROVIDER": "toapis",
    "IMAGE_API_KEY": "test",
    "POLL_FIRST_DELAY": "0.2",
    "POLL_INTERVAL": "0.3",
    "PROGRESS_EDIT_INTERVAL": "2",
    "SYNC_COMMANDS": "true",
    "LOG_LEVEL": "INFO",
}


@dataclass
class BotProcess:
    """``python -m bot`` as a subprocess, its stderr kept in a file."""

    proc: asyncio.subprocess.Process
    stderr_path: Path
    metrics_path: Path
    http_port: int  # HTTP_PORT: /healthz, /readyz, /metrics
    stop_offset: int | None = None  # where stderr stood when SIGTERM was sent

    async def http_get(self, path: str) -> tuple[int, str]:
        """Status and body of ``GET path`` on the bot's health and metrics server."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{self.http_port}{path}", timeout=aiohttp.ClientTimeout(total=5)
            ) as response,
        ):
            return response.status, await response.text()

    def stderr(self) -> str:
        """Everything the bot wrote to stderr so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_tail(self) -> str:
        """The end of stderr, for failure messages."""
        text = self.stderr()
        return text[-STDERR_TAIL:] if len(text) > STDERR_TAIL else text

    def stderr_offset(self) -> int:
        """The current length of stderr (to check only what a test caused)."""
        return len(self.stderr())

    def stderr_since(self, offset: int) -> str:
        """What the bot wrote to stderr after ``offset``."""
        return self.stderr()[offset:]

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; SIGKILL only as a last resort (and then fail the test)."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        self.stop_offset = self.stderr_offset()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            pytest.fail(
                f"the bot did not exit within {timeout:.0f}s of SIGTERM and was killed\n"
                f"--- bot stderr ---\n{self.stderr_tail()}"
            )

    def metrics(self) -> MetricsReport | None:
        """The METRICS_FILE report, if the bot wrote one."""
        try:
            return MetricsReport.model_validate_json(self.metrics_path.read_text())
        except (OSError, ValueError):
            return None


#: Every bot process started, so a test that fails before stopping its bot cannot leak it.
_STARTED: list[BotProcess] = []


@dataclass
class Stack:
    """One running world: the local Discord, the sandbox and the bot connected to both."""

    ld: LocalDiscord
    sandbox: Sandbox
    bot: BotProcess
    tmp: Path
    expected_rate_limit_hits: int = 0  # 429s a test provoked on purpose


def free_port() -> int:
    """A port nothing listens on right now (the bot binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_environment(ld: LocalDiscord, sandbox: Sandbox, tmp: Path, **extra: str) -> dict[str, str]:
    """A hermetic environment: none of the caller's Easel settings leak in."""
    settings_names = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in settings_names and not key.upper().startswith(SETTING_PREFIXES)
    }
    env.update(BOT_ENV)
    env.update(
        DISCORD_TOKEN=ld.bot_token,
        DISCORD_API_BASE=ld.api_base,
        DISCORD_GATEWAY_URL=ld.gateway_url,
        IMAGE_API_BASE_URL=sandbox.base_url,
        DATABASE_URL=f"sqlite:///{tmp}/easel.sqlite3",  # fresh: no fingerprint, so it syncs
        METRICS_FILE=str(tmp / "metrics.json"),
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(free_port()),  # never 8080: other bots may run at the same time
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def spawn_bot(
    ld: LocalDiscord, sandbox: Sandbox, tmp: Path, *, name: str = "bot", **extra_env: str
) -> BotProcess:
    """Start ``python -m bot`` (cwd: a temp dir, so no ``.env`` is read) without waiting.

    Several processes may share ``tmp`` (and its ``data/``) under different ``name``s."""
    tmp.mkdir(parents=True, exist_ok=True)
    stderr_path = tmp / f"{name}.stderr"
    metrics_path = tmp / ("metrics.json" if name == "bot" else f"{name}-metrics.json")
    env = bot_environment(ld, sandbox, tmp, METRICS_FILE=str(metrics_path), **extra_env)
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    bot = BotProcess(proc, stderr_path, metrics_path, int(env["HTTP_PORT"]))
    _STARTED.append(bot)
    return bot


async def start_bot(
    ld: LocalDiscord,
    sandbox: Sandbox,
    tmp: Path,
    *,
    name: str = "bot",
    until: Callable[[LocalDiscord], bool] | None = None,
    **extra_env: str,
) -> BotProcess:
    """Start ``python -m bot`` and wait until it is connected with its commands synced (or
    ``until`` holds); fail with its stderr if it dies or stalls first."""
    bot = await spawn_bot(ld, sandbox, tmp, name=name, **extra_env)
    proc = bot.proc
    ready = asyncio.ensure_future(
        ld.wait_for(
            until or (lambda s: s.connected and bool(s.synced_commands)), timeout=START_TIMEOUT
        )
    )
    exited = asyncio.ensure_future(proc.wait())
    await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done() or ready.exception() is not None:
        ready.cancel()
        exited.cancel()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        pytest.fail(
            f"the bot did not connect (exit code {proc.returncode})\n"
            f"--- bot stderr ---\n{bot.stderr_tail()}"
        )
    exited.cancel()
    return bot


async def stop_and_check(bot: BotProcess) -> None:
    """SIGTERM must end the bot with exit code 0, no traceback on the way out, no ERROR logged,
    and the final METRICS_FILE report written."""
    code = await bot.stop()
    assert code == 0, f"exit code {code}\n--- bot stderr ---\n{bot.stderr_tail()}"
    shutdown = bot.stderr()[bot.stop_offset or 0 :]
    assert "Traceback" not in shutdown, f"traceback while shutting down:\n{shutdown}"
    errors = [
        line for line in bot.stderr().splitlines() if " ERROR " in line or " CRITICAL " in line
    ]
    assert errors == [], "the bot logged errors:\n" + "\n".join(errors)
    assert "voice will NOT be supported" not in bot.stderr(), "a text bot shows no voice warnings"
    report = bot.metrics()
    assert report is not None and report.final, "METRICS_FILE was not written on shutdown"


@contextlib.asynccontextmanager
async def running_stack(tmp: Path, **extra_env: str) -> AsyncIterator[Stack]:
    """Local Discord + sandbox in this process, the bot as a subprocess; checked on the way out."""
    async with LocalDiscord() as ld, Sandbox(task_duration=TASK_DURATION) as sandbox:
        bot = await start_bot(ld, sandbox, tmp, **extra_env)
        stack = Stack(ld, sandbox, bot, tmp)
        try:
            yield stack
        finally:
            await stop_and_check(bot)
        assert ld.internal_errors == []
        assert ld.rate_limit_hits == stack.expected_rate_limit_hits, "unexpected 429s"
        assert_never_pinged(ld)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One bot shared by a module's tests."""
    async with running_stack(tmp_path_factory.mktemp("e2e")) as world:
        yield world


@pytest.fixture(autouse=True)
def reap_bots() -> Iterator[None]:
    """Kill any bot a test started and did not stop (a failed assertion skips its stop).

    Module-scoped bots are started before this runs, so they survive until their teardown.
    """
    started_before = len(_STARTED)
    yield
    for bot in _STARTED[started_before:]:
        if bot.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                bot.proc.kill()
    del _STARTED[started_before:]


@pytest.fixture
def clean_log(stack: Stack) -> Iterator[None]:
    """Fail a test during which the bot logged a traceback or an error."""
    offset = stack.bot.stderr_offset()
    yield
    written = stack.bot.stderr_since(offset)
    bad = "Traceback" in written or " ERROR " in written
    assert not bad, f"the bot logged during this test:\n{written}"


@pytest.fixture
def sandbox_knobs(stack: Stack) -> Iterator[Sandbox]:
    """The shared sandbox, with its fault knobs reset after the test."""
    yield stack.sandbox
    stack.sandbox.faults = Faults(task_duration=TASK_DURATION)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the bot's stderr to every failed e2e test."""
    report = yield
    if report.failed:
        world = getattr(item, "funcargs", {}).get("stack")
        if isinstance(world, Stack):
            report.sections.append(("bot stderr (tail)", world.bot.stderr_tail()))
    return report


# ---------------------------------------------------------------------------- helpers


def final_embed(message: StoredMessage) -> dict[str, Any]:
    """The first embed of a message (the bot always sends exactly one)."""
    assert message.embeds, f"message {message.id} has no embed"
    return message.embeds[0]


def is_final(message: StoredMessage) -> bool:
    """A job's message once it shows the outcome (progress titles start with 🎨)."""
    return bool(message.embeds) and not str(message.embeds[0].get("title", "")).startswith("🎨")


def job_message(handle: InteractionHandle) -> StoredMessage | None:
    """A job's public message: the original response, or, for a job with images (acknowledged
    privately while they are read and checked), the public follow-up posted once they passed."""
    return handle.public_message


async def wait_for_job_message(
    handle: InteractionHandle,
    predicate: Callable[[StoredMessage], bool] | None = None,
    timeout: float = 15.0,
) -> StoredMessage:
    """Wait until the job's public message exists (and matches ``predicate``)."""
    return await handle.wait_for_public_message(predicate, timeout)


def public_messages(ld: LocalDiscord, channel: Any) -> list[StoredMessage]:
    """Every message ever shown to everyone in ``channel``, deleted ones included."""
    return ld.channel_messages(channel, include_deleted=True)


def sent_bodies(ld: LocalDiscord) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every message body the bot sent: creates, edits, follow-ups and message callbacks."""
    for record in ld.requests:
        body = record.json
        if not isinstance(body, dict):
            continue
        if record.route and record.route.endswith("/callback"):
            body = body.get("data") if isinstance(body.get("data"), dict) else None
            if body is None:
                continue
        if "content" in body or "embeds" in body:
            yield f"{record.method} {record.route}", body


def assert_never_pinged(ld: LocalDiscord) -> None:
    """Mentions are disabled on every body the bot sent, and no stored message pinged anyone."""
    for where, body in sent_bodies(ld):
        allowed = body.get("allowed_mentions")
        assert isinstance(allowed, dict), f"{where} sent no allowed_mentions: {body}"
        assert allowed.get("parse") == [], f"{where}: {allowed}"
        assert not allowed.get("users") and not allowed.get("roles"), f"{where}: {allowed}"
    for message in ld.messages.values():
        if message.author.id != ld.bot_user.id:
            continue
        assert not message.mention_everyone, f"message {message.id} pinged @everyone"
        assert message.mention_role_ids == [], f"message {message.id} pinged roles"
        assert message.mention_user_ids == [], f"message {message.id} pinged users"


def dump(message: StoredMessage) -> str:
    """A message's versions, for assertion messages."""
    return json.dumps(
        [(v.kind, round(v.at, 3), v.route) for v in message.versions], ensure_ascii=False
    )


async def admin(
    ld: LocalDiscord,
    subcommand: str,
    options: dict[str, Any] | None = None,
    *,
    embeds: bool = False,
) -> str:
    """The server owner runs ``/easel …``; returns the private answer (and its embeds)."""
    handle = await ld.send_slash_command(
        "owner", "#general", "easel", options, subcommand=subcommand
    )
    ack = await handle.wait_for_callback(timeout=5)
    assert ack.type == CHANNEL_MESSAGE and ack.data is not None
    assert int(ack.data.get("flags") or 0) & EPHEMERAL
    content = str(ack.data.get("content") or "")
    return content + str(ack.data.get("embeds") or "") if embeds else content
