"""Build a real Engine for tests: in-memory SQLite (or a given database), files in a temp folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

from bot.jobs.engine import Engine, EngineConfig
from bot.jobs.queue import QueueLimits
from bot.jobs.scheduler import PollPolicy
from bot.providers.base import ImageProvider
from bot.store.database import MEMORY, Database
from bot.store.files import FileStore
from bot.store.jobs import SqlJobStore

FAST_POLLS = PollPolicy(
    first_delay=0.02,
    interval=0.05,
    near_done_interval=0.05,
    jitter=0,
    backoff=0.05,
    queries_per_minute=60_000,
)


def fast_config(**changes: object) -> EngineConfig:
    """Quick polling for tests; ``changes`` override fields (``queue=QueueLimits(...)`` etc.).

    An outage at submit is not waited out (``submit_budget=0``) unless a test asks for it.
    """
    return EngineConfig.model_validate(
        {"poll": FAST_POLLS, "queue": QueueLimits(), "submit_budget": 0.0, **changes}
    )


@asynccontextmanager
async def running_engine(
    provider: ImageProvider,
    files: Path,
    config: EngineConfig | None = None,
    *,
    database: Path | str | Database = MEMORY,
    label: str | None = None,
    fallbacks: Sequence[ImageProvider] = (),
) -> AsyncIterator[Engine]:
    """A started engine over ``provider`` (then ``fallbacks``); stopped, jobs kept, on exit.

    ``database`` is a path to open, or an open database to share (with the policy service).
    """
    opened = nullcontext(database) if isinstance(database, Database) else Database.open(database)
    async with opened as db:
        engine = Engine(
            provider,
            SqlJobStore(db),
            FileStore(files),
            config or fast_config(),
            label=label,
            fallbacks=fallbacks,
        )
        await engine.start()
        try:
            yield engine
        finally:
            await engine.stop()
