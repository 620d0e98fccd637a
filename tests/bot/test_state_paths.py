"""All state under one DATA_DIR; in the container image, never outside its /data volume."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.jobs.models import JobCompleted, JobRequest
from bot.runtime import open_engine
from bot.settings import Settings, load_settings
from bot.state_paths import CONTAINER_DATA_DIR

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_env(path: Path = ROOT / "Dockerfile") -> dict[str, str]:
    """The ``ENV`` of the Dockerfile's final stage, with ``ARG`` defaults substituted."""
    lines = path.read_text().replace("\\\n", " ").splitlines()
    final = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    args: dict[str, str] = {}
    env: dict[str, str] = {}
    for line in lines[final:]:
        keyword, _, rest = line.partition(" ")
        if keyword == "ARG":
            name, _, default = rest.strip().partition("=")
            args[name] = default
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                for arg, arg_value in args.items():
                    value = value.replace(f"${arg}", arg_value)
                env[name] = value
    return env


def env_file(path: Path) -> dict[str, str]:
    """``docker run --env-file`` reads ``NAME=value`` lines literally; ``#`` lines are comments."""
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            found[name.strip()] = value
    return found


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in names or name.upper().startswith(("PROVIDERS__", "TOAPIS_", "OPENAI_")):
            monkeypatch.delenv(name)


def in_container(monkeypatch: pytest.MonkeyPatch, env_file_values: dict[str, str]) -> Settings:
    """Settings as the image sees them: its ENV, then the env file over it (as Docker does)."""
    for name, value in {**dockerfile_env(), **env_file_values}.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def test_env_example_in_the_image_keeps_every_state_path_on_the_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = in_container(monkeypatch, env_file(ROOT / ".env.example"))

    paths = settings.state_paths
    assert paths.root == CONTAINER_DATA_DIR
    for path in paths:
        assert path is not None and path.is_relative_to(CONTAINER_DATA_DIR), paths
    assert settings.database_url.get_secret_value() == "sqlite:////data/easel.sqlite3"
    assert settings.http_host == "0.0.0.0"  # noqa: S104 - the env file keeps the image's address


def test_an_old_env_file_with_a_relative_database_url_is_refused_in_the_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = {**env_file(ROOT / ".env.example"), "DATABASE_URL": "sqlite:///data/easel.sqlite3"}

    with pytest.raises(ConfigError) as caught:
        in_container(monkeypatch, old)

    assert caught.value.setting == "DATABASE_URL"
    assert "/home/easel/data/easel.sqlite3" in caught.value.problem
    assert "sqlite:////data/easel.sqlite3" in caught.value.problem


def test_a_relative_data_dir_is_refused_in_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        in_container(monkeypatch, {"DATA_DIR": "data"})
    assert caught.value.setting == "DATA_DIR"


def test_an_empty_data_dir_in_the_env_file_still_means_the_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = in_container(monkeypatch, {"DATA_DIR": "", "DATABASE_URL": ""})
    assert settings.state_paths.database == CONTAINER_DATA_DIR / "easel.sqlite3"


def test_an_absolute_database_url_elsewhere_is_allowed_in_the_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = in_container(monkeypatch, {"DATABASE_URL": "sqlite:////srv/db/easel.sqlite3"})
    assert settings.database_path == Path("/srv/db/easel.sqlite3")
    assert settings.state_paths.files == CONTAINER_DATA_DIR / "files"


def test_locally_everything_is_under_data_by_default() -> None:
    paths = load_settings(_env_file=None).state_paths
    assert paths.root == Path("data")
    assert paths.database == Path("data/easel.sqlite3")
    assert (paths.files, paths.fingerprint) == (Path("data/files"), Path("data/commands.sha256"))


def test_data_dir_moves_the_database_and_the_files_together(tmp_path: Path) -> None:
    paths = load_settings(_env_file=None, data_dir=tmp_path).state_paths
    assert paths.database == tmp_path / "easel.sqlite3"
    assert paths.files == tmp_path / "files"


def test_an_explicit_sqlite_url_without_data_dir_keeps_its_files_beside_it(tmp_path: Path) -> None:
    """Where earlier versions kept the images: an upgrade must still find them."""
    settings = load_settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/state/db.sqlite3")
    assert settings.state_paths.files == tmp_path / "state" / "files"


async def test_the_engine_stores_its_database_and_images_under_data_dir(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path / "state", sandbox_task_duration=0)

    async with open_engine(settings) as engine:
        async for event in engine.run(engine.validate(JobRequest(prompt="a kite")).request):
            if isinstance(event, JobCompleted):
                break

    assert (tmp_path / "state" / "easel.sqlite3").is_file()
    stored = list((tmp_path / "state" / "files").rglob("*.png"))
    assert stored, list(tmp_path.rglob("*"))
    assert {p.name for p in tmp_path.iterdir()} == {"state"}  # nothing lands outside it
