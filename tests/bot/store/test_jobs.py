"""The job store keeps every field, finds unfinished jobs, and never loses the token.

Each test runs on SQLite and on PostgreSQL (``database``, from tests/support/databases.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.jobs.models import InputImage, JobRequest
from bot.jobs.records import Delivery, JobRecord, JobState, StoredFile
from bot.options import Ratio, Resolution
from bot.store.database import Database, migrations
from bot.store.files import FileStore
from bot.store.jobs import SqlJobStore


@pytest.fixture
def store(database: Database) -> SqlJobStore:
    return SqlJobStore(database)


def record(job_id: str, **changes: object) -> JobRecord:
    base: dict[str, object] = {
        "id": job_id,
        "request": JobRequest(prompt="fox", ratio=Ratio.WIDE_16_9, n=2),
        "resolution": Resolution.R2K,
        "width": 2048,
        "height": 1152,
        "client_reference": f"easel-{job_id}",
        "user_id": 7,
        "guild_id": 8,
        "channel_id": 9,
    }
    return JobRecord.model_validate({**base, **changes})


async def test_a_job_round_trips_with_every_field(store: SqlJobStore) -> None:
    job = record(
        "a1",
        delivery=Delivery(
            application_id=1, interaction_token=SecretStr("tok"), token_expires_at=5.0, message_id=3
        ),
        results=[
            StoredFile(
                path="a1/x.png", filename="x.png", content_type="image/png", width=2, height=2
            )
        ],
        size_limit=1000,
    )
    await store.add(job)
    loaded = await store.get("a1")
    assert loaded is not None
    assert loaded.delivery is not None and loaded.delivery.interaction_token is not None
    assert loaded.delivery.interaction_token.get_secret_value() == "tok"
    assert loaded.model_dump(exclude={"delivery", "updated_at"}) == job.model_dump(
        exclude={"delivery", "updated_at"}
    )


async def test_reference_bytes_are_never_written_to_the_database(store: SqlJobStore) -> None:
    request = JobRequest(
        prompt="x", references=(InputImage(filename="r.png", data=b"\x89PNG" * 1000),)
    )
    await store.add(record("b1", request=request))
    loaded = await store.get("b1")
    assert loaded is not None and loaded.request.references[0].data == b""
    assert loaded.request.references[0].filename == "r.png"


async def test_unfinished_lists_jobs_not_yet_told_oldest_first(store: SqlJobStore) -> None:
    await store.add(record("old", created_at=1.0, state=JobState.SUBMITTED))
    await store.add(record("new", created_at=2.0, state=JobState.FAILED))
    await store.add(record("done", created_at=0.5, state=JobState.DELIVERED, notified=True))
    await store.add(record("cli", created_at=0.1, origin="cli"))
    assert [job.id for job in await store.unfinished("discord")] == ["old", "new"]


async def test_save_updates_state(store: SqlJobStore) -> None:
    job = record("c1")
    await store.add(job)
    job.state = JobState.SUBMITTED
    job.task_id = "tsk_1"
    await store.save(job)
    loaded = await store.get("c1")
    assert loaded is not None and (loaded.state, loaded.task_id) == (JobState.SUBMITTED, "tsk_1")


async def test_a_unique_id_prefix_finds_the_job(store: SqlJobStore) -> None:
    await store.add(record("deadbeef0001"))
    await store.add(record("deadbeef0002"))
    await store.add(record("cafebabe0001"))
    found = await store.get("cafebabe")
    assert found is not None and found.id == "cafebabe0001"
    assert await store.get("deadbeef") is None  # ambiguous
    assert await store.get("dead") is None  # too short to guess


async def test_recent_jobs_are_per_member_newest_first(store: SqlJobStore) -> None:
    for index in range(3):
        await store.add(record(f"m{index}", created_at=float(index)))
    await store.add(record("other", user_id=99))
    assert [job.id for job in await store.recent_for_user(7, limit=2)] == ["m2", "m1"]
    assert [job.id for job in await store.recent_for_user(7, guild_id=1)] == []


async def test_told_jobs_with_files_are_found_for_pruning_oldest_first(store: SqlJobStore) -> None:
    kept = [StoredFile(path="j/result_1.png", filename="result_1.png", content_type="image/png")]
    for job_id, finished_at, notified, results in (
        ("old", 100.0, True, kept),
        ("older", 50.0, True, kept),
        ("recent", 900.0, True, kept),  # after the cutoff
        ("untold", 10.0, False, kept),  # the member was not told yet
        ("pruned", 10.0, True, []),  # nothing left to delete
    ):
        await store.add(record(job_id, finished_at=finished_at, notified=notified, results=results))
    found = await store.with_files_finished_before(500.0, limit=10)
    assert [job.id for job in found] == ["older", "old"]
    assert [job.id for job in await store.with_files_finished_before(500.0, limit=1)] == ["older"]


async def test_migrations_apply_once(database_url: str) -> None:
    async with Database.open(database_url) as database:
        assert await database.version() == migrations()[-1][0]
    async with Database.open(database_url) as database:  # a second start must not re-apply
        assert await database.version() == migrations()[-1][0]


async def test_files_are_written_whole_and_deleted_per_job(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    path = await files.write("job/../1", "../evil name.png", b"data")
    stored = (tmp_path / "files" / path).resolve()
    assert stored.is_relative_to((tmp_path / "files").resolve()) and len(Path(path).parts) == 2
    assert stored.read_bytes() == b"data"
    assert await files.read(path) == b"data"
    await files.delete_job("job/../1")
    with pytest.raises(FileNotFoundError):
        await files.read(path)


async def test_two_writers_of_one_file_never_trip_over_each_other(tmp_path: Path) -> None:
    """Two processes may keep one job's results at once (a stalled owner and its successor)."""
    one, two = FileStore(tmp_path / "files"), FileStore(tmp_path / "files")
    writes = [
        store.write("job", "result.png", bytes([n]) * 200_000)
        for n in range(8)
        for store in (one, two)
    ]
    paths = await asyncio.gather(*writes)
    assert set(paths) == {"job/result.png"}
    data = await one.read("job/result.png")
    assert len(data) == 200_000 and len(set(data)) == 1  # one writer's whole file
    assert sorted(p.name for p in (tmp_path / "files" / "job").iterdir()) == ["result.png"]


async def test_the_provider_that_took_a_job_is_kept(store: SqlJobStore) -> None:
    job = record("p1", provider="openai")
    await store.add(job)
    loaded = await store.get("p1")
    assert loaded is not None and loaded.provider == "openai"
    loaded.provider = "starrise"
    await store.save(loaded)
    again = await store.get("p1")
    assert again is not None and again.provider == "starrise"


async def test_a_database_from_an_older_version_gains_the_new_columns(tmp_path: Path) -> None:
    """A file made by Easel before failover and leases (migrations 1-2) opens and keeps its job."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL)")
        for version, name, sql in migrations()[:2]:
            old.executescript(sql)
            old.execute("INSERT INTO schema_version VALUES (?, ?)", (version, name))
        old.execute(
            "INSERT INTO jobs (id, origin, state, request, resolution, width, height,"
            " client_reference, created_at, updated_at) VALUES ('old', 'discord', 'submitted',"
            """ '{"prompt": "fox"}', '2K', 2048, 2048, 'easel-old', 1.0, 1.0)"""
        )
    old.close()
    async with Database.open(path) as database:
        store = SqlJobStore(database)
        loaded = await store.get("old")
        assert loaded is not None and loaded.provider is None and loaded.owner == ""
        assert [job.id for job in await store.claim("me", ["discord"], lease=5, limit=9)] == ["old"]
