"""The bot as a host deploys it: one data directory, its build named at start, and a sandbox
chosen on purpose that says so on every result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import final_embed, is_final, running_stack

pytestmark = pytest.mark.e2e

COMMIT = "0123456789abcdef0123"


async def test_a_deployed_bot_keeps_all_state_in_data_dir_and_labels_sandbox_results(
    tmp_path: Path,
) -> None:
    data = tmp_path / "state"
    env = {
        "DATA_DIR": str(data),
        "DATABASE_URL": "",  # derived from DATA_DIR
        "IMAGE_PROVIDER": "sandbox",  # chosen: a token without a key would refuse to start
        "IMAGE_API_KEY": "",
        "SANDBOX_TASK_DURATION": "0.5",
        "EASEL_GIT_SHA": COMMIT,
    }
    async with running_stack(tmp_path / "run", **env) as stack:
        handle = await stack.ld.send_slash_command(
            "alice", "#general", "imagine", {"prompt": "a lighthouse at dusk"}
        )
        final = await handle.wait_for_original(is_final, timeout=20)
        log = stack.bot.stderr()

    embed = final_embed(final)
    assert embed["title"] == "✅ 1 image ready"
    assert embed["footer"]["text"].startswith("Sandbox · placeholder images")
    assert f"(commit {COMMIT[:12]})" in log
    assert f"data directory {data}: database {data / 'easel.sqlite3'}" in log
    assert "IMAGE_PROVIDER=sandbox: members get placeholder images" in log
    assert (data / "easel.sqlite3").is_file()
    assert (data / "commands.sha256").is_file()
    assert list((data / "files").rglob("*.png"))
    assert not (tmp_path / "run" / "data").exists()  # nothing in the working directory
