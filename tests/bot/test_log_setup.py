"""Log lines: JSON for collectors with the job's fields, secrets never, reconnects on one line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.jobs.context import current_job
from bot.jobs.models import JobRequest
from bot.jobs.records import JobRecord
from bot.log_setup import REDACTED, secret_values, setup_logging
from bot.options import Resolution
from bot.sandbox.server import Sandbox
from bot.settings import Settings
from tests.support.engines import running_engine
from tests.support.providers import toapis_provider

TOKEN = "MTIzNDU2Nzg5.secret-token-value.abcdefghij"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """``setup_logging`` replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def a_job(**fields: Any) -> JobRecord:
    return JobRecord(
        id="0123456789abcdef",
        origin="discord",
        kind="imagine",
        guild_id=42,
        request=JobRequest(prompt="x"),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
        client_reference="easel-0123456789abcdef",
        **fields,
    )


def test_json_lines_are_one_object_each_with_the_jobs_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("INFO", fmt="json")
    log = logging.getLogger("bot.jobs.engine")

    log.info("starting up")
    token = current_job.set(a_job(provider="openai"))
    try:
        log.warning("job %s: slow", "01234567")
    finally:
        current_job.reset(token)

    plain, job_line = json_lines(capsys.readouterr().err)
    assert set(plain) == {"ts", "level", "logger", "message"}
    assert plain["message"] == "starting up" and plain["level"] == "INFO"
    assert plain["ts"].endswith("+00:00")
    assert job_line == {
        "ts": job_line["ts"],
        "level": "WARNING",
        "logger": "bot.jobs.engine",
        "message": "job 01234567: slow",
        "job_id": "0123456789abcdef",
        "guild_id": 42,
        "provider": "openai",
    }


def test_an_exception_stays_inside_its_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", fmt="json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("x").exception("it failed")

    [line] = json_lines(capsys.readouterr().err)
    assert line["message"] == "it failed"
    assert "RuntimeError: boom" in line["exc"] and "Traceback" in line["exc"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_known_secret_is_never_printed_in_messages_or_tracebacks(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", fmt=fmt, secrets=[TOKEN, "short"])
    log = logging.getLogger("discord.http")

    log.warning("sending Authorization: Bot %s", TOKEN)
    try:
        raise ValueError(f"bad header {TOKEN}")
    except ValueError:
        log.exception("request failed")
    logging.getLogger("x").warning("a short value is left alone: short")

    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "secret-token-value" not in err
    assert err.count(REDACTED) == 2
    assert "left alone: short" in err


def test_secret_values_are_every_secret_setting() -> None:
    settings = Settings(
        discord_token=SecretStr(TOKEN), image_api_key=SecretStr("sk-image-key-123"), _env_file=None
    )

    assert set(secret_values(settings)) == {TOKEN, "sk-image-key-123"}


def test_of_a_database_url_only_its_password_is_a_secret() -> None:
    url = "postgresql://easel:hunter2-hunter2@db.example:5432/easel"
    settings = Settings.model_construct(database_url=SecretStr(url))

    assert secret_values(settings) == ["hunter2-hunter2"]


class FakeConnectionClosed(Exception):
    """What discord.py raises when the gateway socket closes (it carries the close code)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"Shard ID None WebSocket closed with {code}")
        self.code = code


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (FakeConnectionClosed(4000), "closed with code 4000"),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
    ],
)
def test_a_gateway_reconnect_is_one_warning_line_with_its_cause(
    exc: Exception, cause: str, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO")
    try:
        raise exc
    except Exception:
        logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 3.5)

    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert " WARNING " in err
    assert f"Discord gateway connection failed ({cause}); attempting a reconnect in 3.50s" in err


async def test_every_engine_line_about_a_job_carries_its_id_guild_and_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", fmt="json")
    async with (
        Sandbox(task_duration=0.1) as sandbox,
        aiohttp.ClientSession() as session,
    ):
        provider = toapis_provider(sandbox, session)
        async with running_engine(provider, tmp_path) as engine:
            events = [event async for event in engine.run(JobRequest(prompt="a"), job_id="f" * 32)]
    assert events[-1].kind == "completed"

    lines = [
        line for line in json_lines(capsys.readouterr().err) if "job ffffffff" in line["message"]
    ]
    assert len(lines) >= 2  # accepted, images ready
    assert all(line.get("job_id") == "f" * 32 for line in lines), lines
    assert any(line.get("provider") == "toapis" for line in lines), lines
