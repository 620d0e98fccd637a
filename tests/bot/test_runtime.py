"""The runtime builds every provider from settings through one factory, profiles added by admins
included: a gateway of a known family is a profiles-file table and a key, never a code change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.jobs.models import JobCompleted, JobEvent, JobRequest
from bot.runtime import open_engine
from bot.sandbox.openai_server import OpenAISandbox
from bot.sandbox.server import Sandbox
from bot.settings import load_settings

PREFIXES = ("DISCORD_", "IMAGE_", "DATABASE_", "TOAPIS_", "INFINITYBLUE_", "STARRISE_")
PREFIXES += ("ANYFAST_", "OPENAI_", "SANDBOX_", "PROVIDERS__", "MYGATEWAY_", "RELAY_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)


def profiles_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return path


async def last_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> tuple[JobEvent, str, str]:
    """Run one job with ``env``: its final event, the engine's label and provider name."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POLL_FIRST_DELAY", "0.05")
    monkeypatch.setenv("POLL_INTERVAL", "0.1")
    monkeypatch.setenv("SANDBOX_TASK_DURATION", "0.2")
    settings = load_settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/db")
    async with open_engine(settings, ephemeral=True) as engine:
        events = [event async for event in engine.run(JobRequest(prompt="a lighthouse", n=2))]
        return events[-1], engine.label, engine.provider.name


async def test_an_openai_gateway_added_in_a_profiles_file_runs_a_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with OpenAISandbox("starrise", api_key="sk-gateway", call_duration=0.05) as gateway:
        extra = profiles_file(
            tmp_path,
            f'[mygateway]\nlabel = "My Gateway"\nfamily = "openai"\n'
            f'base_url = "{gateway.base_url}/v1"\nmodels = ["gpt-image-2"]\n',
        )
        env = {
            "IMAGE_PROFILES_FILE": str(extra),
            "IMAGE_PROVIDERS": "mygateway",
            "MYGATEWAY_API_KEY": "sk-gateway",  # the emulator refuses any other key
        }
        final, label, name = await last_event(tmp_path, monkeypatch, env)
        assert gateway.count("generate") == 1  # n=2 in one request: the profile's native_n
    assert isinstance(final, JobCompleted), final
    assert len(final.images) == 2
    assert (str(label), name) == ("My Gateway · gpt-image-2", "mygateway")


async def test_the_nested_settings_configure_an_added_gateway_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with OpenAISandbox("openai", api_key="sk-nested", call_duration=0.05) as gateway:
        extra = profiles_file(
            tmp_path,
            '[mygateway]\nlabel = "My Gateway"\nfamily = "openai"\n'
            'base_url = "https://gateway.invalid"\nmodels = ["gpt-image-1"]\nnative_n = false\n',
        )
        env = {
            "IMAGE_PROFILES_FILE": str(extra),
            "IMAGE_PROVIDER": "mygateway",
            "PROVIDERS__MYGATEWAY__API_KEY": "sk-nested",
            "PROVIDERS__MYGATEWAY__BASE_URL": gateway.base_url,  # wins over the profile's
            "PROVIDERS__MYGATEWAY__MODEL": "gpt-image-1",
        }
        final, label, _ = await last_event(tmp_path, monkeypatch, env)
        assert gateway.count("generate") == 2  # native_n = false: one call per image
    assert isinstance(final, JobCompleted), final
    assert str(label) == "My Gateway · gpt-image-1"


async def test_a_toapis_relay_added_in_a_profiles_file_runs_a_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Sandbox(api_key="sk-relay", task_duration=0.1) as relay:
        extra = profiles_file(
            tmp_path,
            f'[relay]\nlabel = "Relay"\nfamily = "toapis"\nbase_url = "{relay.base_url}"\n'
            # what the relay's gpt-image-2 takes, as the shipped [toapis] table says it
            'sizes = "toapis"\nquality = false\nformats = []\nmask = false\n',
        )
        env = {
            "IMAGE_PROFILES_FILE": str(extra),
            "IMAGE_PROVIDERS": "relay",
            "RELAY_API_KEY": "sk-relay",
        }
        final, label, name = await last_event(tmp_path, monkeypatch, env)
        assert relay.count("submit") == 1
    assert isinstance(final, JobCompleted), final
    assert (str(label), name) == ("Relay · gpt-image-2", "relay")


async def test_the_sandbox_emulates_an_added_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = profiles_file(
        tmp_path,
        '[mygateway]\nlabel = "My Gateway"\nfamily = "openai"\n'
        'base_url = "https://gateway.invalid"\nmodels = ["gpt-image-2"]\n',
    )
    env = {"IMAGE_PROFILES_FILE": str(extra), "SANDBOX_API": "mygateway"}
    final, label, _ = await last_event(tmp_path, monkeypatch, env)
    assert isinstance(final, JobCompleted), final
    assert str(label).startswith("Sandbox (My Gateway emulator) · placeholder images")
