"""The job repository keeps every field, finds unfinished jobs, and never loses the token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.jobs.models import InputImage, JobRequest
from bot.jobs.records import Delivery, JobRecord, JobState, StoredFile
from bot.options import Ratio, Resolution
from bot.store.database import Database, migrations
from bot.store.files import FileStore
from bot.store.jobs import SqliteJobStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteJobStore]:
    async with Database.open(tmp_path / "state" / "easel.sqlite3") as database:
        yield SqliteJobStore(database)


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


async def test_a_job_round_trips_with_every_field(store: SqliteJobStore) -> None:
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


async def test_reference_bytes_are_never_written_to_the_database(store: SqliteJobStore) -> None:
    request = JobRequest(
        prompt="x", references=(InputImage(filename="r.png", data=b"\x89PNG" * 1000),)
    )
    await store.add(record("b1", request=request))
    loaded = await store.get("b1")
    assert loaded is not None and loaded.request.references[0].data == b""
    assert loaded.request.references[0].filename == "r.png"


async def test_unfinished_lists_jobs_not_yet_told_oldest_first(store: SqliteJobStore) -> None:
    await store.add(record("old", created_at=1.0, state=JobState.SUBMITTED))
    await store.add(record("new", created_at=2.0, state=JobState.FAILED))
    await store.add(record("done", created_at=0.5, state=JobState.DELIVERED, notified=True))
    await store.add(record("cli", created_at=0.1, origin="cli"))
    assert [job.id for job in await store.unfinished("discord")] == ["old", "new"]


async def test_save_updates_state(store: SqliteJobStore) -> None:
    job = record("c1")
    await store.add(job)
    job.state = JobState.SUBMITTED
    job.task_id = "tsk_1"
    await store.save(job)
    loaded = await store.get("c1")
    assert loaded is not None and (loaded.state, loaded.task_id) == (JobState.SUBMITTED, "tsk_1")


async def test_a_unique_id_prefix_finds_the_job(store: SqliteJobStore) -> None:
    await store.add(record("deadbeef0001"))
    await store.add(record("deadbeef0002"))
    await store.add(record("cafebabe0001"))
    found = await store.get("cafebabe")
    assert found is not None and found.id == "cafebabe0001"
    assert await store.get("deadbeef") is None  # ambiguous
    assert await store.get("dead") is None  # too short to guess


async def test_recent_jobs_are_per_member_newest_first(store: SqliteJobStore) -> None:
    for index in range(3):
        await store.add(record(f"m{index}", created_at=float(index)))
    await store.add(record("other", user_id=99))
    assert [job.id for job in await store.recent_for_user(7, limit=2)] == ["m2", "m1"]
    assert [job.id for job in await store.recent_for_user(7, guild_id=1)] == []


async def test_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with Database.open(path) as database:
        assert await database.version() == migrations()[-1][0]
    async with Database.open(path) as database:  # a second start must not re-apply
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


async def test_the_provider_that_took_a_job_is_kept(store: SqliteJobStore) -> None:
    job = record("p1", provider="openai")
    await store.add(job)
    loaded = await store.get("p1")
    assert loaded is not None and loaded.provider == "openai"
    loaded.provider = "starrise"
    await store.save(loaded)
    again = await store.get("p1")
    assert again is not None and again.provider == "starrise"


async def test_a_database_from_before_failover_gains_the_provider_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with Database.open(path) as database:  # all migrations, then roll 003 back
        await database.connection.executescript(
            "ALTER TABLE jobs DROP COLUMN provider; DELETE FROM schema_version WHERE version >= 3;"
            " ALTER TABLE jobs DROP COLUMN locale;"
            # 004 (money) again too: its columns and tables
            " ALTER TABLE jobs DROP COLUMN defaults; ALTER TABLE jobs DROP COLUMN currency;"
            " ALTER TABLE jobs DROP COLUMN estimated_cost; ALTER TABLE jobs DROP COLUMN cost;"
            " DROP TABLE spending; DROP TABLE member_defaults;"
        )
    async with Database.open(path) as database:
        store = SqliteJobStore(database)
        await store.add(record("old", provider=None))
        loaded = await store.get("old")
        assert loaded is not None and loaded.provider is None
