"""Build the engine from settings: database, files, HTTP session, providers, sandbox.

One place owns these lifecycles so the bot, the command line and the tests start and stop them
the same way.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from bot.jobs.engine import Engine, EngineConfig
from bot.jobs.retention import DAY, Retention
from bot.jobs.scheduler import PollPolicy
from bot.ops.process import Ops
from bot.policy.ports import PolicyStore
from bot.policy.service import PolicyService
from bot.providers.base import ImageProvider
from bot.providers.openai.tasks import OpenAICompatProvider
from bot.providers.profiles import load_profiles
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.openai_server import OpenAISandbox
from bot.sandbox.server import Sandbox
from bot.settings import ProviderName, Settings
from bot.store.database import MEMORY, Database
from bot.store.files import FileStore
from bot.store.jobs import SqliteJobStore
from bot.store.policy import SqlitePolicyStore

log = logging.getLogger(__name__)

DATABASE_CHECK = "database"  # the readiness check's name

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


async def build_providers(
    settings: Settings, session: aiohttp.ClientSession, stack: AsyncExitStack
) -> tuple[list[ImageProvider], dict[str, str]]:
    """The providers in failover order and the label members see for each.

    Without a key this is the sandbox: the ToAPIs emulator, or with ``SANDBOX_API`` the
    emulator of another API (streamed previews from ``openai``, say), in this process.
    """
    profiles = load_profiles(settings.image_profiles_file)
    table = settings.image_size_table
    if settings.provider is ProviderName.SANDBOX:
        api = settings.sandbox_api
        profile = profiles[ProviderName.TOAPIS if api is ProviderName.SANDBOX else api]
        config = settings.provider_config(ProviderName.TOAPIS)
        spec = profile.spec(config.model, config.edit_model, size_table=table)
        provider: ImageProvider
        if profile.family == "toapis":
            sandbox = Sandbox(task_duration=settings.sandbox_task_duration, size_table=table)
            base_url = await sandbox.start()
            stack.push_async_callback(sandbox.stop)
            provider = ToAPIsProvider(
                base_url,
                SANDBOX_KEY,
                spec,
                session=session,
                request_timeout=settings.image_request_timeout,
            )
            stack.push_async_callback(provider.close)
            what = ""
        else:
            emulator = OpenAISandbox(
                profile.name,  # type: ignore[arg-type]  # a shipped OpenAI-family name
                call_duration=settings.sandbox_task_duration,
                profile=profile,
            )
            base_url = await emulator.start()
            stack.push_async_callback(emulator.stop)
            provider = OpenAICompatProvider(
                profile,
                SANDBOX_KEY,
                profile.spec(),
                base_url=base_url,
                session=session,
                partial_images=settings.image_partial_images,
            )
            stack.push_async_callback(provider.close)
            what = f" ({profile.label} emulator)"
        log.info(
            "no image API key: using the local sandbox%s at %s (placeholder images)",
            what,
            base_url,
        )
        label = f"Sandbox{what} · placeholder images, no API key · {provider.spec.model_id}"
        return [provider], {provider.name: label}
    providers: list[ImageProvider] = []
    labels: dict[str, str] = {}
    for name in settings.provider_names:
        config = settings.provider_config(name)
        profile = profiles[name]
        assert config.api_key is not None  # load_settings refuses a provider without a key
        spec = profile.spec(config.model, config.edit_model, size_table=table)
        if profile.family == "toapis":
            provider = ToAPIsProvider(
                config.base_url or profile.base_url,
                config.api_key,
                spec,
                session=session,
                request_timeout=settings.image_request_timeout,
            )
        else:
            provider = OpenAICompatProvider(
                profile,
                config.api_key,
                spec,
                base_url=config.base_url,
                session=session,
                request_timeout=settings.image_sync_timeout,
                moderation=settings.image_moderation,
                partial_images=settings.image_partial_images,
            )
        stack.push_async_callback(provider.close)
        providers.append(provider)
        labels[provider.name] = f"{profile.label} · {spec.model_id}"
    return providers, labels


@asynccontextmanager
async def open_engine(
    settings: Settings,
    *,
    ephemeral: bool = False,
    session: aiohttp.ClientSession | None = None,
    database: Database | None = None,
    ops: Ops | None = None,
) -> AsyncIterator[Engine]:
    """Yield a started Engine; everything it opened is closed on exit.

    ``ephemeral`` keeps state in memory and a temporary folder (the command line's one-off jobs).
    ``database``, when given, is used (and left open) instead of opening the configured one.
    ``ops``, in the bot, gets the engine's metrics and a readiness check on the database.
    """
    async with AsyncExitStack() as stack:
        if ephemeral:
            database_path: Path | str = MEMORY
            files_root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="easel-")))
        else:
            database_path = settings.database_path
            files_root = settings.database_path.parent / "files"
        if database is None:
            database = await stack.enter_async_context(Database.open(database_path))
        if session is None:
            traces = [ops.metrics.upstream_trace()] if ops is not None else []
            session = await stack.enter_async_context(aiohttp.ClientSession(trace_configs=traces))
        providers, labels = await build_providers(settings, session, stack)
        jobs, files = SqliteJobStore(database), FileStore(files_root)
        engine = Engine(
            providers[0],
            jobs,
            files,
            engine_config(settings),
            label=labels[providers[0].name],
            fallbacks=providers[1:],
            labels=labels,
        )
        await engine.start()
        stack.push_async_callback(engine.stop)
        if ops is not None:
            watch_engine(ops, engine, database)
            stack.callback(ops.readiness.remove_check, DATABASE_CHECK)
        if not ephemeral and settings.result_retention_days > 0:
            retention = Retention(jobs, files, keep=settings.result_retention_days * DAY)
            retention.start()
            stack.push_async_callback(retention.stop)
        yield engine


@dataclass(frozen=True)
class Services:
    """What the Discord bot runs on: the engine and the policy service, on one database."""

    engine: Engine
    policy: PolicyService


async def load_policy(store: PolicyStore, engine: Engine) -> PolicyService:
    """The policy service loaded from ``store``, counting and auditing every finished job."""
    policy = await PolicyService.load(store)
    engine.on_finished(policy.job_finished)
    return policy


@asynccontextmanager
async def open_services(settings: Settings, *, ops: Ops | None = None) -> AsyncIterator[Services]:
    """Yield the started engine and the loaded policy service; both are closed on exit.

    The bot is built with these injected (discord.py's ``advanced_startup`` pattern), so its
    resources open before it logs in and close after its gateway is gone. ``ops`` gets their
    metrics and readiness (``open_engine``).
    """
    async with (
        Database.open(settings.database_path) as database,
        open_engine(settings, database=database, ops=ops) as engine,
    ):
        policy = await load_policy(SqlitePolicyStore(database), engine)
        yield Services(engine, policy)


def watch_engine(ops: Ops, engine: Engine, database: Database) -> None:
    """Count the engine's jobs, and make ``/readyz`` wait for the database to answer a query."""
    ops.metrics.watch_engine(engine)

    async def database_answers() -> None:
        await database.fetch_one("SELECT 1")

    ops.readiness.add_check(DATABASE_CHECK, database_answers)
