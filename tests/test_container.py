"""The container files agree with the code: paths, user, entrypoint, health command, the lock.

``docker build`` cannot run here (no daemon), so what can be read is checked: every path the
image uses is the one the settings expect, every command it runs exists, and the dependencies
it installs are the locked ones, covering pyproject's.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.__main__ import build_parser
from bot.settings import Settings
from bot.state_paths import CONTAINER_DATA_DIR, CONTAINER_WORKDIR
from tests.bot.test_state_paths import dockerfile_env

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
IMAGE_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux"}


def instructions(stage: int = -1) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of one stage of the Dockerfile (the last by default)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, rest.strip()))
    return stages[stage]


def one(keyword: str, stage: int = -1) -> str:
    found = [rest for key, rest in instructions(stage) if key == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def exec_form(text: str) -> list[str]:
    """``["python", "-m", "bot"]`` (the JSON form Docker runs without a shell)."""
    parsed = json.loads(text)
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


def test_the_image_runs_as_a_non_root_user_owning_the_volume() -> None:
    user = one("USER")
    assert user not in {"root", "0"}
    runs = " ".join(rest for key, rest in instructions() if key == "RUN")
    assert f"useradd --create-home --uid 10001 {user}" in runs
    assert f"chown {user}:{user} {CONTAINER_DATA_DIR}" in runs
    assert exec_form(one("VOLUME")) == [str(CONTAINER_DATA_DIR)]
    assert Path(one("WORKDIR")) == CONTAINER_WORKDIR  # named in the relative-path refusal


def test_the_image_environment_is_made_of_settings_the_bot_reads() -> None:
    env = dockerfile_env()
    fields = {name.upper() for name in Settings.model_fields}
    runtime = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
    assert set(env) - runtime <= fields, set(env) - runtime - fields
    assert Path(env["DATA_DIR"]) == CONTAINER_DATA_DIR
    assert env["EASEL_IN_CONTAINER"] == "1"
    assert env["HTTP_HOST"] == "0.0.0.0"  # noqa: S104 - reachable through a published port
    assert "GIT_SHA" in [rest.partition("=")[0] for key, rest in instructions() if key == "ARG"]
    assert "$GIT_SHA" in (ROOT / "Dockerfile").read_text().split("EASEL_GIT_SHA=")[1].split()[0]
    assert env["PATH"].startswith("/opt/easel/bin:")


def test_the_entrypoint_and_the_health_command_are_commands_of_the_bot() -> None:
    entrypoint = exec_form(one("ENTRYPOINT"))
    assert entrypoint == ["python", "-m", "bot"]
    assert (ROOT / "bot" / "__main__.py").is_file()
    health = one("HEALTHCHECK")
    options, _, command = health.partition("CMD ")
    assert exec_form(command) == [*entrypoint, "healthcheck"]
    assert build_parser().parse_args(["healthcheck"]).command == "healthcheck"
    timeout = re.search(r"--timeout=(\d+)s", options)
    assert timeout is not None and int(timeout.group(1)) > 5  # the probe's own timeout is 5 s


def test_the_exposed_port_is_the_health_servers_default() -> None:
    assert int(one("EXPOSE")) == Settings.model_fields["http_port"].default


def test_the_build_copies_every_package_and_file_pyproject_needs() -> None:
    copied = {
        part for key, rest in instructions(0) if key == "COPY" for part in shlex.split(rest)[:-1]
    }
    packages = {
        name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    needed = packages | {"pyproject.toml", PYPROJECT["project"]["readme"]}
    needed |= set(PYPROJECT["project"]["license-files"])
    needed |= {"requirements.lock", "requirements-build.lock"}
    assert needed <= copied, needed - copied
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not needed & ignored
    assert {".env", ".env.*", ".git", "data"} <= ignored  # no secrets, no state in the image
    for name in needed:
        assert (ROOT / name).exists(), name


def test_the_image_installs_exactly_the_locked_dependencies() -> None:
    runs = " ".join(rest for key, rest in instructions(0) if key == "RUN")
    assert "pip install --require-hashes -r requirements.lock" in runs
    assert "pip install --require-hashes -r requirements-build.lock" in runs
    assert "--no-build-isolation" in runs and "pip install --no-deps /wheels/" in runs


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """Each pinned name in a lock, with its version and how many hashes it carries."""
    found: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=\S)", (ROOT / lock).read_text()):
        match = re.match(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", block)
        if match:
            name = canonicalize_name(match.group(1).split("[")[0])
            found[name] = (match.group(2), block.count("--hash=sha256:"))
    return found


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(
        {**default_environment(), **IMAGE_PYTHON}
    )


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PYPROJECT["project"]["dependencies"]),
        ("requirements-build.lock", PYPROJECT["build-system"]["requires"]),
    ],
)
def test_the_locks_pin_every_dependency_within_its_range_with_hashes(
    lock: str, requirements: list[str]
) -> None:
    pinned = pins(lock)
    assert pinned, f"{lock} pins nothing"
    for text in requirements:
        requirement = Requirement(text)
        if not applies(requirement):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} does not pin {name} (python3 dev.py lock)"
        version, _ = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
    assert all(hashes > 0 for _, hashes in pinned.values()), f"{lock}: a pin without hashes"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_keeps_state_on_a_volume_and_restarts_the_bot() -> None:
    service = compose()["services"]["easel"]
    assert service["restart"] in {"unless-stopped", "always"}
    assert service["env_file"] in (".env", [".env"])
    volume, _, target = service["volumes"][0].partition(":")
    assert Path(target) == CONTAINER_DATA_DIR and volume in compose()["volumes"]
    assert service["build"]["args"]["GIT_SHA"].startswith("${GIT_SHA")


def test_compose_probes_health_and_rotates_logs() -> None:
    service = compose()["services"]["easel"]
    assert service["healthcheck"]["test"] == ["CMD", *exec_form(one("ENTRYPOINT")), "healthcheck"]
    options = service["logging"]["options"]
    assert service["logging"]["driver"] in {"json-file", "local"}
    assert options["max-size"] and int(options["max-file"]) >= 2
    port = f"${{HTTP_PORT:-{Settings.model_fields['http_port'].default}}}"  # .env's, if set
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]  # metrics for this machine only


def test_the_project_is_mit_licensed_in_spdx_form() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    build = [Requirement(text) for text in PYPROJECT["build-system"]["requires"]]
    setuptools = next(r for r in build if r.name == "setuptools")
    assert not setuptools.specifier.contains("76.9")  # SPDX strings need setuptools 77
