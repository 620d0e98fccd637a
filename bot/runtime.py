"""Build the engine from settings: database, files, HTTP session, provider, sandbox.

One place owns these lifecycles so the bot, the command line and the tests start and stop them
the same way.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from bot.jobs.engine import Engine, EngineConfig
from bot.jobs.scheduler import PollPolicy
from bot.providers.catalog import toapis_model_spec
from bot.providers.toapis import ToAPIsProvider
from bot.sandbox.server import Sandbox
from bot.settings import ProviderName, Settings
from bot.store.database import MEMORY, Database
from bot.store.files import FileStore
from bot.store.jobs import SqliteJobStore

log = logging.getLogger(__name__)

SANDBOX_KEY = SecretStr("sandbox")


def engine_config(settings: Settings) -> EngineConfig:
    """Engine timing from settings; the sandbox is polled faster since it is local."""
    sandbox = settings.provider is ProviderName.SANDBOX
    first_delay, interval = settings.poll_first_delay, settings.poll_interval
    if sandbox:
        first_delay, interval = min(first_delay, 1.0), min(interval, 1.0)
    return EngineConfig(
        poll=PollPolicy(
            first_delay=first_delay,
            interval=interval,
            near_done_interval=min(interval, 1.0),
            queries_per_minute=settings.upstream_queries_per_minute,
        ),
        queue=settings.queue_limits(),
        job_timeout=settings.job_timeout,
    )


@asynccontextmanager
async def open_engine(
    settings: Settings, *, ephemeral: bool = False, session: aiohttp.ClientSession | None = None
) -> AsyncIterator[Engine]:
    """Yield a started Engine; everything it opened is closed on exit.

    ``ephemeral`` keeps state in memory and a temporary folder (the command line's one-off jobs).
    """
    async with AsyncExitStack() as stack:
        if ephemeral:
            database_path: Path | str = MEMORY
            files_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="easel-")))
        else:
            database_path = settings.database_path
            files_root = settings.database_path.parent / "files"
        database = await stack.enter_async_context(Database.open(database_path))
        if session is None:
            session = await stack.enter_async_context(aiohttp.ClientSession())
        spec = toapis_model_spec(
            settings.image_model, settings.image_size_table, edit_model=settings.image_edit_model
        )
        if settings.provider is ProviderName.SANDBOX:
            sandbox = Sandbox(
                task_duration=settings.sandbox_task_duration, size_table=settings.image_size_table
            )
            base_url = await sandbox.start()
            stack.push_async_callback(sandbox.stop)
            api_key = SANDBOX_KEY
            label = f"Sandbox · placeholder images, no API key · {spec.model_id}"
            log.info(
                "no IMAGE_API_KEY: using the local sandbox at %s (placeholder images)", base_url
            )
        else:
            base_url = settings.image_api_base_url
            api_key = settings.require_image_api_key()
            label = f"ToAPIs · {spec.model_id}"
        provider = ToAPIsProvider(
            base_url, api_key, spec, session=session, request_timeout=settings.image_request_timeout
        )
        stack.push_async_callback(provider.close)
        engine = Engine(
            provider,
            SqliteJobStore(database),
            FileStore(files_root),
            engine_config(settings),
            label=label,
        )
        await engine.start()
        stack.push_async_callback(engine.stop)
        yield engine
