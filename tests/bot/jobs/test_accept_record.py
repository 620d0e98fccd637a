"""``Engine.accept(record=…)``: the policy's acceptance writes the record; its refusal leaves
nothing behind (no record, no stored input), and an accepted job is recorded by it alone."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import PolicyRefusal
from bot.jobs.engine import Engine
from bot.jobs.models import InputImage, JobRequest
from bot.jobs.records import JobRecord


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(out, format="PNG")
    return out.getvalue()


def files_of(root: Path, job_id: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and job_id in str(path)]


async def test_a_job_its_recorder_refuses_leaves_no_record_and_no_stored_input(
    engine: Engine, tmp_path: Path
) -> None:
    written: list[str] = []

    async def refuse(job: JobRecord, *, lease: float) -> None:
        written.append(job.id)
        raise PolicyRefusal("no images left today", rule="member_quota")

    async def record(job: JobRecord, *, lease: float) -> None:
        written.append(job.id)
        await engine.store.add(job, lease=lease)

    resolved = engine.validate(JobRequest(prompt="a fox like this one"))
    inputs = [InputImage(filename="fox.png", data=png())]
    with pytest.raises(PolicyRefusal):
        await engine.accept(
            resolved, origin="cli", inputs=inputs, job_id="refused1", record=refuse, start=False
        )
    await engine.accept(
        resolved, origin="cli", inputs=inputs, job_id="accepted", record=record, start=False
    )
    assert written == ["refused1", "accepted"]
    assert await engine.get_job("refused1") is None
    assert files_of(tmp_path, "refused1") == []
    assert await engine.get_job("accepted") is not None
    assert files_of(tmp_path, "accepted") != []  # the same inputs, kept for the accepted job
