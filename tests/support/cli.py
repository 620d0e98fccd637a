"""Run ``python -m bot`` as a member of the public would: a clean environment, its own database."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.env_names import prefixes
from bot.providers.profiles import shipped_profile_data
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# Settings from the developer's shell (keys, providers, a database) must not reach the process,
# nor anything the bot would take for a misspelt setting.
SETTING_PREFIXES = prefixes(Settings, list(shipped_profile_data()))
FAST = {"POLL_FIRST_DELAY": "0.1", "POLL_INTERVAL": "0.2", "SANDBOX_TASK_DURATION": "0.5"}


async def run_cli(*args: str, env: dict[str, str], tmp_path: Path) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``python -m bot *args`` with ``env`` on top of the basics."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env={**base, **FAST, "DATABASE_URL": f"sqlite:///{tmp_path}/db", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
