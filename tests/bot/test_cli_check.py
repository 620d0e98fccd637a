"""``python -m bot check`` logs in to Discord once and says what is wrong, if anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from local_discord import LocalDiscord
from tests.support.cli import run_cli

SANDBOX = {"IMAGE_PROVIDER": "sandbox"}  # a token and no key: the sandbox only when chosen


@pytest.fixture
async def ld() -> AsyncIterator[LocalDiscord]:
    async with LocalDiscord() as discord:
        yield discord


async def test_a_working_token_names_the_bot(ld: LocalDiscord, tmp_path: Path) -> None:
    env = {"DISCORD_TOKEN": ld.bot_token, "DISCORD_API_BASE": ld.api_base, **SANDBOX}

    code, stdout, stderr = await run_cli("check", env=env, tmp_path=tmp_path)

    assert code == 0, stderr
    assert f"discord token: valid, bot Easel ({ld.bot_user.id})" in stdout
    assert len(ld.requests_to("/users/@me", "GET")) == 1
    assert ld.bot_token not in stdout + stderr


async def test_a_rejected_token_says_so_and_exits_2(ld: LocalDiscord, tmp_path: Path) -> None:
    wrong = "MTEx.wrong-token-for-this-bot.abcdefgh"
    env = {"DISCORD_TOKEN": wrong, "DISCORD_API_BASE": ld.api_base, **SANDBOX}

    code, stdout, stderr = await run_cli("check", env=env, tmp_path=tmp_path)

    assert code == 2
    assert "DISCORD_TOKEN was rejected by Discord (401 Unauthorized)" in stderr
    assert "Reset Token" in stderr
    assert wrong not in stdout + stderr
    assert "Traceback" not in stderr


async def test_discord_out_of_reach_names_the_url_and_the_cause(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    api = f"http://127.0.0.1:{unused_tcp_port}/api/v10"
    env = {"DISCORD_TOKEN": "MTEx.some-token.abcdefgh", "DISCORD_API_BASE": api, **SANDBOX}

    code, _, stderr = await run_cli("check", env=env, tmp_path=tmp_path)

    assert code == 1
    assert f"cannot reach Discord at {api}/users/@me: connection refused" in stderr
    assert "Traceback" not in stderr


async def test_without_a_token_check_says_it_is_needed_to_run_the_bot(tmp_path: Path) -> None:
    code, stdout, stderr = await run_cli("check", env={}, tmp_path=tmp_path)

    assert code == 0, stderr
    assert "discord token: NOT SET (needed to run the bot)" in stdout


async def test_check_names_the_data_directory_and_never_the_database_url(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "state"), "DATABASE_URL": ""}

    code, stdout, stderr = await run_cli("check", env=env, tmp_path=tmp_path)

    assert code == 0, stderr
    state = tmp_path / "state"
    assert f"data directory: {state} (database {state / 'easel.sqlite3'})" in stdout
    assert "sqlite:///" not in stdout + stderr
