"""``python -m bot imagine``, ``check`` and ``models`` against every provider's emulator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from bot.sandbox.openai_server import Flavour, OpenAISandbox
from tests.support.cli import run_cli


def pointing_at(server: OpenAISandbox, key: str = "sk-test") -> dict[str, str]:
    name = server.flavour.upper()
    return {
        "IMAGE_PROVIDER": server.flavour,
        f"{name}_BASE_URL": server.base_url,
        f"{name}_API_KEY": key,
    }


def write_png(path: Path, size: tuple[int, int], *, alpha: bool = False) -> Path:
    Image.new("RGBA" if alpha else "RGB", size, (0, 0, 0, 0) if alpha else "plum").save(path)
    return path


def sizes(paths: str) -> list[tuple[int, int]]:
    found = []
    for line in paths.splitlines():
        with Image.open(line) as image:
            found.append(image.size)
    return found


@pytest.mark.parametrize("flavour", ["infinityblue", "starrise", "anyfast", "openai"])
async def test_imagine_makes_images_through_each_provider(tmp_path: Path, flavour: Flavour) -> None:
    async with OpenAISandbox(flavour, api_key="sk-test", call_duration=0.1) as server:
        code, stdout, stderr = await run_cli(
            "imagine",
            "a lighthouse at dusk",
            "--ratio",
            "21:9",
            "-n",
            "2",
            "--out",
            str(tmp_path / "out"),
            env=pointing_at(server),
            tmp_path=tmp_path,
        )
    assert code == 0, stderr
    assert sizes(stdout) == [(2016, 864)] * 2
    assert server.calls >= 1


async def edit_with_mask(
    server: OpenAISandbox, tmp_path: Path, prompt: str
) -> tuple[int, str, str]:
    """``imagine --image --mask`` against ``server``: a 600x400 photo, a fully transparent mask."""
    image = write_png(tmp_path / "photo.png", (600, 400))
    mask = write_png(tmp_path / "mask.png", (600, 400), alpha=True)
    return await run_cli(
        "imagine",
        prompt,
        "--image",
        str(image),
        "--mask",
        str(mask),
        "--out",
        str(tmp_path / "out"),
        env=pointing_at(server),
        tmp_path=tmp_path,
    )


async def test_imagine_edits_with_a_mask_on_starrise(tmp_path: Path) -> None:
    async with OpenAISandbox("starrise", api_key="sk-test", call_duration=0.1) as server:
        code, stdout, stderr = await edit_with_mask(server, tmp_path, "replace the sky with stars")
        (call,) = server.requests_to("edit")
    assert code == 0, stderr
    ((width, height),) = sizes(stdout)
    assert abs(width / height - 1.5) < 0.03
    assert set(call.files) == {"image", "mask"}


async def test_a_mask_on_infinityblue_is_refused_before_any_request(tmp_path: Path) -> None:
    async with OpenAISandbox("infinityblue", api_key="sk-test") as server:
        code, _, stderr = await edit_with_mask(server, tmp_path, "replace the sky")
        assert server.count("edit") == 0
    assert code == 1 and "ignores masks" in stderr
    assert "Leave --mask out" in stderr and "IMAGE_PROVIDERS" in stderr  # the operator's terms
    assert "this server" not in stderr and "admin" not in stderr


async def test_refusals_name_the_flag_not_the_discord_option(tmp_path: Path) -> None:
    async with OpenAISandbox("infinityblue", api_key="sk-test") as server:
        code, _, stderr = await run_cli(
            "imagine", "a fox", "--quality", "high", "--out", str(tmp_path),
            env=pointing_at(server), tmp_path=tmp_path,
        )  # fmt: skip
        assert server.calls == 0
    assert code == 1
    assert stderr == "error: The model gpt-image-2 does not take a quality setting. " + (
        "Leave --quality out.\n"
    )


async def test_a_stalled_stream_is_told_as_stalled_with_the_time_in_words(
    tmp_path: Path,
) -> None:
    async with OpenAISandbox("openai", api_key="sk-test", call_duration=0.2) as server:
        server.add_fault("stream_stall", "generate", hang=60)
        code, stdout, stderr = await run_cli(
            "imagine", "a fox", "--out", str(tmp_path),
            env={**pointing_at(server), "IMAGE_SYNC_TIMEOUT": "4"}, tmp_path=tmp_path,
        )  # fmt: skip
    assert code == 1 and not stdout
    assert (
        "error: OpenAI stopped streaming after 2 previews and sent no final image within "
        "4 seconds; try again." in stderr
    )
    assert "broke" not in stderr and "minutes" not in stderr


async def test_imagine_on_openai_shows_the_streamed_previews(tmp_path: Path) -> None:
    async with OpenAISandbox("openai", api_key="sk-test", call_duration=1.0) as server:
        code, stdout, stderr = await run_cli(
            "imagine", "a fox", "--out", str(tmp_path), env=pointing_at(server), tmp_path=tmp_path
        )
    assert code == 0, stderr
    assert "(preview 1)" in stderr and "(preview 2)" in stderr
    assert sizes(stdout) == [(1024, 1024)]


async def test_imagine_fails_over_and_says_who_made_the_image(tmp_path: Path) -> None:
    async with (
        OpenAISandbox("starrise", api_key="sk-a", call_duration=0.1) as first,
        OpenAISandbox("infinityblue", api_key="sk-b", call_duration=0.1) as second,
    ):
        first.faults.balance = 0
        env = {
            "IMAGE_PROVIDERS": "starrise,infinityblue",
            **{k: v for k, v in pointing_at(first, "sk-a").items() if k != "IMAGE_PROVIDER"},
            **{k: v for k, v in pointing_at(second, "sk-b").items() if k != "IMAGE_PROVIDER"},
        }
        code, stdout, stderr = await run_cli(
            "imagine", "a fox", "--out", str(tmp_path), env=env, tmp_path=tmp_path
        )
    assert code == 0, stderr
    assert "made by InfinityBlue · gpt-image-2 · standing in for Starrise" in stderr
    assert len(stdout.splitlines()) == 1


async def test_imagine_reports_a_safety_refusal(tmp_path: Path) -> None:
    async with OpenAISandbox("openai", api_key="sk-test", call_duration=0.1) as server:
        server.faults.safety_fail_calls = 1
        code, _, stderr = await run_cli(
            "imagine", "a fox", "--out", str(tmp_path), env=pointing_at(server), tmp_path=tmp_path
        )
    assert code == 1 and "safety system refused" in stderr


async def test_check_reaches_every_configured_provider(tmp_path: Path) -> None:
    async with (
        OpenAISandbox("openai", api_key="sk-a") as first,
        OpenAISandbox("starrise", api_key="sk-b") as second,
    ):
        env = {
            "IMAGE_PROVIDERS": "openai,starrise",
            "OPENAI_BASE_URL": first.base_url,
            "OPENAI_API_KEY": "sk-a",
            "STARRISE_BASE_URL": second.base_url,
            "STARRISE_API_KEY": "sk-wrong",
        }
        code, stdout, stderr = await run_cli("check", env=env, tmp_path=tmp_path)
    assert code == 1
    assert "OpenAI reachable" in stdout
    assert "Starrise" in stderr and "API key" in stderr and "sk-wrong" not in stderr


async def test_models_shows_the_providers_in_use_first_with_their_real_urls(
    tmp_path: Path,
) -> None:
    env = {
        "IMAGE_PROVIDERS": "openai,starrise",
        "OPENAI_API_KEY": "a",
        "OPENAI_BASE_URL": "https://gateway.example/v1/",
        "STARRISE_API_KEY": "b",
        "STARRISE_MODEL": "gpt-image-2-c",
    }
    code, stdout, _ = await run_cli("models", env=env, tmp_path=tmp_path)
    assert code == 0
    assert "1. openai: OpenAI at https://gateway.example\n" in stdout
    assert "api.openai.com" not in stdout
    assert "2. starrise: Starrise at https://ai.alad.com" in stdout
    assert "model      gpt-image-2-c\n" in stdout and "Easel loops" in stdout
    assert "gpt-image-2: n 1-10 per request" in stdout  # the other model: only what differs
    assert stdout.count("   sizes ") == 2  # one block per provider, never one per model
    assert "not configured: toapis, infinityblue, anyfast" in stdout
    assert "InfinityBlue" not in stdout and "upstream-apis" not in stdout and ".md" not in stdout
    assert len(stdout.splitlines()) < 40


async def test_models_all_describes_the_providers_not_configured_too(tmp_path: Path) -> None:
    env = {"IMAGE_PROVIDERS": "openai", "OPENAI_API_KEY": "a"}
    code, stdout, _ = await run_cli("models", "--all", env=env, tmp_path=tmp_path)
    assert code == 0
    used, _, rest = stdout.partition("Not configured:")
    assert "1. openai: OpenAI at https://api.openai.com" in used and "toapis" not in used
    assert "- infinityblue: InfinityBlue at https://api.getinfinityblue.com" in rest
    assert "ignores masks" in rest and "- toapis: ToAPIs at https://toapis.com" in rest


async def test_models_json_has_the_same_report(tmp_path: Path) -> None:
    env = {
        "IMAGE_PROVIDERS": "starrise",
        "STARRISE_API_KEY": "b",
        "PROVIDERS__STARRISE__BASE_URL": "http://127.0.0.1:5000",
    }
    code, stdout, _ = await run_cli("models", "--json", env=env, tmp_path=tmp_path)
    report = json.loads(stdout)
    assert code == 0 and not report["sandbox"]
    (starrise,) = report["providers"]
    assert starrise["base_url"] == "http://127.0.0.1:5000" and starrise["failover_position"] == 1
    assert starrise["other_models"]["gpt-image-2-c"] == {"n": "1-10, one per call (Easel loops)"}
    assert report["not_in_use"] == ["toapis", "infinityblue", "anyfast", "openai"]
    code, stdout, _ = await run_cli("models", "--json", "--all", env=env, tmp_path=tmp_path)
    entries = {entry["provider"]: entry for entry in json.loads(stdout)["providers"]}
    assert set(entries) == {"toapis", "infinityblue", "starrise", "anyfast", "openai"}
    blue = entries["infinityblue"]["capabilities"]
    assert entries["infinityblue"]["failover_position"] is None
    assert blue["mask"].startswith("no") and "1,000" in blue["edits"]


async def test_models_in_the_sandbox_names_the_emulated_api(tmp_path: Path) -> None:
    code, stdout, _ = await run_cli("models", env={"SANDBOX_API": "openai"}, tmp_path=tmp_path)
    assert code == 0
    assert stdout.startswith("No image API key is set")
    assert "1. openai: OpenAI at a local emulator" in stdout and "preview frame" in stdout


async def test_the_sandbox_can_emulate_a_streaming_api(tmp_path: Path) -> None:
    code, stdout, stderr = await run_cli(
        "imagine",
        "a fox",
        "--out",
        str(tmp_path),
        env={"SANDBOX_API": "openai", "SANDBOX_TASK_DURATION": "1"},
        tmp_path=tmp_path,
    )
    assert code == 0, stderr
    assert "Sandbox (OpenAI emulator)" in stderr and "(preview 1)" in stderr
    with Image.open(io.BytesIO(Path(stdout.strip()).read_bytes())) as image:
        assert image.size == (1024, 1024)


async def test_a_size_the_model_does_not_make_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    """gpt-image-1.5 makes three sizes (§4.1): 16:9 is refused, naming them, for nothing spent."""
    async with OpenAISandbox("openai", api_key="sk-test") as server:
        code, stdout, stderr = await run_cli(
            "imagine", "a wide shot", "--ratio", "16:9", "--out", str(tmp_path / "out"),
            env={**pointing_at(server), "OPENAI_MODEL": "gpt-image-1.5"}, tmp_path=tmp_path,
        )  # fmt: skip
        assert len(server.requests_to("generate")) == 0 and server.calls == 0
    assert code == 1 and not stdout
    assert "gpt-image-1.5 does not make 16:9" in stderr
    assert "1:1 (1024x1024), 3:2 (1536x1024), 2:3 (1024x1536) at 1K" in stderr
    assert "--ratio" in stderr
