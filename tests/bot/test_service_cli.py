"""``python -m bot healthcheck``, ``backup`` and ``restore`` as a host runs them."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.jobs.engine import Engine
from bot.jobs.models import JobCompleted, JobEvent, JobFailed, JobRequest
from bot.jobs.records import JobRecord, JobState
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer, Readiness
from bot.sandbox.server import Sandbox
from bot.store.database import Database
from tests.support.cli import run_cli
from tests.support.engines import running_engine
from tests.support.providers import toapis_provider

# ------------------------------------------------------------------------------- healthcheck


@pytest.fixture
async def ops() -> AsyncIterator[OpsServer]:
    server = OpsServer(Metrics(), Readiness(), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_healthcheck_exits_0_while_the_bot_answers(ops: OpsServer, tmp_path: Path) -> None:
    env = {"HTTP_HOST": "0.0.0.0", "HTTP_PORT": str(ops.port)}  # noqa: S104 - as the image sets

    code, stdout, stderr = await run_cli("healthcheck", env=env, tmp_path=tmp_path)

    assert code == 0, stderr
    assert stdout.strip() == f"healthy: http://127.0.0.1:{ops.port}/healthz answered 200"


async def test_healthcheck_exits_1_when_nothing_answers(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    env = {"HTTP_PORT": str(unused_tcp_port)}

    code, _, stderr = await run_cli("healthcheck", env=env, tmp_path=tmp_path)

    assert code == 1
    assert stderr.startswith(f"unhealthy: cannot reach http://127.0.0.1:{unused_tcp_port}/healthz")


async def test_healthcheck_exits_1_on_an_error_status(tmp_path: Path, unused_tcp_port: int) -> None:
    async def failing(_: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/healthz", failing)
    runner = web.AppRunner(app)
    await runner.setup()
    port = unused_tcp_port
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        code, _, stderr = await run_cli(
            "healthcheck", env={"HTTP_PORT": str(port)}, tmp_path=tmp_path
        )
    finally:
        await runner.cleanup()

    assert code == 1
    assert stderr.strip() == f"unhealthy: http://127.0.0.1:{port}/healthz answered 500"


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"HTTP_PORT": "0"}, "HTTP_PORT=0 turns the health server off"),
        ({"HTTP_PROT": "8080"}, "did you mean HTTP_PORT?"),  # never 2: Docker reserves it
    ],
)
async def test_healthcheck_exits_1_when_it_cannot_probe(
    tmp_path: Path, env: dict[str, str], said: str
) -> None:
    code, _, stderr = await run_cli("healthcheck", env=env, tmp_path=tmp_path)
    assert code == 1
    assert said in stderr


# --------------------------------------------------------------------------- backup, restore


class Recorder:
    """The Discord side of the engine, reduced to remembering what it was told."""

    def __init__(self) -> None:
        self.events: dict[str, list[JobEvent]] = defaultdict(list)

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        self.events[job.id].append(event)

    def outcome(self, job_id: str) -> JobEvent | None:
        return next(
            (e for e in self.events[job_id] if isinstance(e, JobCompleted | JobFailed)), None
        )


async def accept(engine: Engine, prompt: str) -> JobRecord:
    resolved = engine.validate(JobRequest(prompt=prompt, n=2))
    return await engine.accept(resolved, origin="discord", user_id=1, guild_id=2, channel_id=3)


async def wait_for(engine: Engine, job_id: str, state: JobState) -> None:
    async with asyncio.timeout(20):
        while (job := await engine.get_job(job_id)) is None or job.state is not state:
            await asyncio.sleep(0.02)


def data_env(root: Path) -> dict[str, str]:
    return {"DATA_DIR": str(root), "DATABASE_URL": ""}


async def test_backup_then_restore_into_an_empty_data_dir_resumes_the_same_jobs(
    tmp_path: Path,
) -> None:
    old, new, archive = tmp_path / "old", tmp_path / "new", tmp_path / "easel-backup.tar.gz"
    async with Sandbox(task_duration=0.2) as sandbox, aiohttp.ClientSession() as session:
        provider = toapis_provider(sandbox, session)
        async with running_engine(
            provider, old / "files", database=old / "easel.sqlite3"
        ) as engine:
            engine.observe("discord", Recorder())
            delivered = await accept(engine, "a harbour, delivered before the backup")
            await wait_for(engine, delivered.id, JobState.DELIVERED)
            sandbox.faults.task_duration = 6.0
            running = [await accept(engine, f"a harbour, still drawing ({i})") for i in (1, 2)]
            for job in running:
                await wait_for(engine, job.id, JobState.SUBMITTED)

            # Online: the engine keeps running (and writing) in this process meanwhile.
            code, stdout, stderr = await run_cli(
                "backup", str(archive), env=data_env(old), tmp_path=tmp_path
            )
            assert code == 0, stderr
            assert stdout.startswith(f"backed up {old / 'easel.sqlite3'} (schema ")
            assert "and 2 stored file(s)" in stdout  # the delivered job's two images

        code, stdout, stderr = await run_cli(
            "restore", str(archive), env=data_env(new), tmp_path=tmp_path
        )
        assert code == 0, stderr
        assert f"into {new}" in stdout

        recorder = Recorder()
        async with running_engine(
            provider, new / "files", database=new / "easel.sqlite3"
        ) as restored:
            restored.observe("discord", recorder)
            assert await restored.resume() == 2
            for job in running:
                await wait_for(restored, job.id, JobState.DELIVERED)
            earlier = await restored.get_job(delivered.id)
            assert earlier is not None and earlier.state is JobState.DELIVERED
            images = await restored.load_results(earlier)

    for job in running:
        outcome = recorder.outcome(job.id)
        assert isinstance(outcome, JobCompleted) and len(outcome.images) == 2
    assert len(images) == 2 and all(image.data for image in images)
    assert sandbox.count("submit") == 3  # resumed by polling the same tasks, never resubmitted


async def test_restore_over_existing_data_is_refused_without_force(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Database.open(data / "easel.sqlite3"):
        pass
    code, _, stderr = await run_cli(
        "backup", str(tmp_path / "copy"), env=data_env(data), tmp_path=tmp_path
    )
    assert code == 0, stderr

    code, _, stderr = await run_cli(
        "restore", str(tmp_path / "copy"), env=data_env(data), tmp_path=tmp_path
    )

    assert code == 1
    assert "error: restore failed: The data directory already holds Easel data" in stderr
    assert "--force" in stderr

    code, stdout, stderr = await run_cli(
        "restore", "--force", str(tmp_path / "copy"), env=data_env(data), tmp_path=tmp_path
    )
    assert code == 0, stderr
    assert "the data that was there is kept in" in stdout
