"""``python -m bot imagine`` and ``check``, run as a member of the public would run them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.sandbox.server import Sandbox
from tests.support.cli import ROOT, run_cli


@pytest.fixture
async def external_api() -> AsyncIterator[Sandbox]:
    """A ToAPIs-compatible server the CLI reaches through IMAGE_API_BASE_URL and IMAGE_API_KEY."""
    async with Sandbox(api_key="sk-live-key", task_duration=0.5) as sandbox:
        yield sandbox


async def test_imagine_without_a_key_writes_two_2k_pngs_and_prints_their_paths(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = await run_cli(
        "imagine",
        "a lighthouse at dusk",
        "--ratio",
        "16:9",
        "--resolution",
        "2K",
        "-n",
        "2",
        "--out",
        str(out),
        env={},
        tmp_path=tmp_path,
    )
    assert code == 0, stderr
    paths = [Path(line) for line in stdout.splitlines()]
    assert len(paths) == 2
    for path in paths:
        with Image.open(ROOT / path if not path.is_absolute() else path) as image:
            assert (image.format, image.size) == ("PNG", (2048, 1152))
    assert "Sandbox" in stderr and "%" in stderr


async def test_imagine_against_any_toapis_compatible_server(
    external_api: Sandbox, tmp_path: Path
) -> None:
    env = {"IMAGE_API_BASE_URL": external_api.base_url, "IMAGE_API_KEY": "sk-live-key"}
    code, stdout, stderr = await run_cli(
        "imagine", "a fox", "--out", str(tmp_path), env=env, tmp_path=tmp_path
    )
    assert code == 0, stderr
    assert len(stdout.splitlines()) == 1
    assert external_api.count("submit") == 1
    assert "sk-live-key" not in stderr + stdout


async def test_fewer_images_than_asked_are_written_said_and_exit_3(
    external_api: Sandbox, tmp_path: Path
) -> None:
    """Not a silent success: the operator (and a script) learns that one of the two failed."""
    external_api.faults.short_results = 1
    env = {"IMAGE_API_BASE_URL": external_api.base_url, "IMAGE_API_KEY": "sk-live-key"}
    code, stdout, stderr = await run_cli(
        "imagine", "a fox", "-n", "2", "--out", str(tmp_path / "out"), env=env, tmp_path=tmp_path
    )
    assert code == 3, stderr
    assert len(stdout.splitlines()) == 1
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: 1 of 2 images failed: the image service sent 1 of the 2 asked for"
    ]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"IMAGE_API_KEY": "sk-wrong"}, "IMAGE_API_KEY"),
        ({"balance": 0}, "balance"),
        ({"fault": "500"}, "image service"),
    ],
)
async def test_documented_errors_give_one_clear_line(
    external_api: Sandbox, tmp_path: Path, setup: dict[str, object], expected: str
) -> None:
    env = {
        "IMAGE_API_BASE_URL": external_api.base_url,
        "IMAGE_API_KEY": str(setup.get("IMAGE_API_KEY", "sk-live-key")),
    }
    if "balance" in setup:
        external_api.faults.balance = 0
    if "fault" in setup:
        external_api.add_fault("500", "submit", times=200)
        env["SUBMIT_RETRY_BUDGET"] = "1"  # the outage outlasts the time it is waited out
    code, stdout, stderr = await run_cli(
        "imagine", "x", "--out", str(tmp_path), env=env, tmp_path=tmp_path
    )
    assert code == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected.lower() in errors[0].lower(), stderr
    assert "Traceback" not in stderr and stdout == ""


async def test_an_impossible_request_is_refused_before_any_upstream_call(
    external_api: Sandbox, tmp_path: Path
) -> None:
    env = {"IMAGE_API_BASE_URL": external_api.base_url, "IMAGE_API_KEY": "sk-live-key"}
    code, _, stderr = await run_cli(
        "imagine", "x", "--resolution", "4K", "--out", str(tmp_path), env=env, tmp_path=tmp_path
    )
    assert code == 1 and "not available at 4K" in stderr
    assert len(external_api.requests) == 0


async def test_check_reaches_the_provider(external_api: Sandbox, tmp_path: Path) -> None:
    env = {"IMAGE_API_BASE_URL": external_api.base_url, "IMAGE_API_KEY": "sk-live-key"}
    code, stdout, stderr = await run_cli("check", env=env, tmp_path=tmp_path)
    assert code == 0, stderr
    assert "provider toapis" in stdout and "balance" in stdout.lower()
    assert external_api.count("balance") >= 1
