"""Build the engine from settings: database, files, HTTP session, providers, sandbox.

One place owns these lifecycles so the bot, the command line and the tests start and stop them
the same way.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast, get_args

import aiohttp
from pydantic import SecretStr

from bot.i18n import Text, _
from bot.jobs.engine import Engine, EngineConfig
from bot.jobs.retention import DAY, Retention
from bot.jobs.scheduler import PollPolicy
from bot.ops.process import Ops
from bot.policy.budget import NO_BUDGET, Budget
from bot.policy.ports import PolicyStore
from bot.policy.service import PolicyService
from bot.policy.spending import Budgets
from bot.policy.sync import PolicySync
from bot.provider_settings import LEGACY_PROVIDER
from bot.providers.base import ImageProvider
from bot.providers.families import Endpoint, build_provider
from bot.providers.profiles import Family, ProviderProfile
from bot.sandbox.openai_server import Flavour, OpenAISandbox
from bot.sandbox.server import Sandbox
from bot.settings import Settings
from bot.store.database import MEMORY, Database
from bot.store.files import FileStore
from bot.store.jobs import SqlJobStore
from bot.store.policy import SqlPolicyStore

log = logging.getLogger(__name__)

DATABASE_CHECK = "database"  # the readiness check's name

SANDBOX_KEY = SecretStr("sandbox")


def engine_config(settings: Settings) -> EngineConfig:
    """Engine timing from settings; the sandbox is polled faster since it is local."""
    first_delay, interval = settings.poll_first_delay, settings.poll_interval
    if settings.sandbox:
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
        submit_budget=settings.submit_retry_budget,
        delivery_attempts=settings.delivery_attempts,
        delivery_backoff=settings.delivery_retry_backoff,
        # the worker row names this process's shards, for operators
        lease=settings.lease_config(",".join(map(str, settings.shard_plan().ids or ()))),
    )


def endpoint(settings: Settings, name: str, *, sandbox_url: str | None = None) -> Endpoint:
    """How to reach provider ``name`` from the settings, or at the sandbox's emulator."""
    config = settings.provider_config(name)
    api_key = SANDBOX_KEY if sandbox_url else config.api_key
    assert api_key is not None  # load_settings refuses a provider without a key
    return Endpoint(
        api_key=api_key,
        base_url=sandbox_url or config.base_url,
        model=config.model,
        edit_model=config.edit_model,
        size_table=settings.image_size_table,
        request_timeout=settings.image_request_timeout,
        sync_timeout=settings.image_sync_timeout,
        moderation=settings.image_moderation,
        partial_images=settings.image_partial_images,
    )


def _emulated_flavour(profile: ProviderProfile) -> Flavour:
    """The OpenAI-compatible emulator flavour for a profile: its own, or the nearest one."""
    if profile.name in get_args(Flavour):
        return cast(Flavour, profile.name)
    if profile.edit_transport == "json":
        return "infinityblue"
    return "openai" if profile.streaming else "starrise"


Emulator = Sandbox | OpenAISandbox
# Which emulator the sandbox starts for a profile of each family.
EMULATORS: Mapping[Family, Callable[[ProviderProfile, Settings], Emulator]] = {
    "toapis": lambda profile, settings: Sandbox(
        task_duration=settings.sandbox_task_duration, size_table=settings.image_size_table
    ),
    "openai": lambda profile, settings: OpenAISandbox(
        _emulated_flavour(profile), call_duration=settings.sandbox_task_duration, profile=profile
    ),
}


async def start_sandbox(settings: Settings, stack: AsyncExitStack) -> tuple[ProviderProfile, str]:
    """Start the emulator of the ``SANDBOX_API`` profile's API; its profile and base URL."""
    profile = settings.profiles[settings.sandbox_profile]
    emulator = EMULATORS[profile.family](profile, settings)
    base_url = await emulator.start()
    stack.push_async_callback(emulator.stop)
    log.info(
        "no image API key: using the local %s at %s (placeholder images)", emulator.name, base_url
    )
    return profile, base_url


async def build_providers(
    settings: Settings, session: aiohttp.ClientSession, stack: AsyncExitStack
) -> tuple[list[ImageProvider], dict[str, Text | str]]:
    """The providers in failover order and the label members see for each.

    Without a key this is the sandbox: the emulator of the ``SANDBOX_API`` profile's API (the
    ToAPIs one by default; ``openai`` streams previews, say), in this process.
    """
    if settings.sandbox:
        profile, base_url = await start_sandbox(settings, stack)
        targets = [(profile, endpoint(settings, profile.name, sandbox_url=base_url))]
    else:
        names = settings.provider_names
        targets = [(settings.profiles[name], endpoint(settings, name)) for name in names]
    providers: list[ImageProvider] = []
    labels: dict[str, Text | str] = {}
    for profile, where in targets:
        provider = build_provider(profile, where, session)
        stack.push_async_callback(provider.close)
        providers.append(provider)
        labels[provider.name] = f"{profile.label} · {provider.spec.model_id}"
    if settings.sandbox:
        model = providers[0].spec.model_id
        labels = {
            providers[0].name: _("Sandbox · placeholder images, no API key · {model}", model=model)
            if settings.sandbox_profile == LEGACY_PROVIDER
            else _(
                "Sandbox ({service} emulator) · placeholder images, no API key · {model}",
                service=profile.label,
                model=model,
            )
        }
    return providers, labels


def open_database(
    settings: Settings, target: Path | str | None = None
) -> AbstractAsyncContextManager[Database]:
    """The configured database (``DATABASE_URL``), or ``target`` with the same pool settings
    (and, on PostgreSQL, a pg_dump into DATA_DIR/backups before a schema upgrade)."""
    backups = settings.state_paths.backups if settings.database_backup_before_upgrade else None
    return Database.open(
        settings.database_url.get_secret_value() if target is None else target,
        pool_size=settings.database_pool_size,
        reconnect_for=settings.database_reconnect_seconds,
        backups=backups,
    )


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
            database_path = settings.database_url.get_secret_value()
            files_root = settings.state_dir / "files"
        if database is None:
            database = await stack.enter_async_context(open_database(settings, database_path))
        if session is None:
            traces = [ops.metrics.upstream_trace()] if ops is not None else []
            session = await stack.enter_async_context(aiohttp.ClientSession(trace_configs=traces))
        providers, labels = await build_providers(settings, session, stack)
        jobs, files = SqlJobStore(database), FileStore(files_root)
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


@asynccontextmanager
async def running_policy(
    store: PolicyStore,
    engine: Engine,
    *,
    refresh: float = 2.0,
    host_budget: Budget = NO_BUDGET,
) -> AsyncIterator[PolicyService]:
    """The policy service loaded from ``store``, counting, costing and auditing every finished
    job (budgets in the currency of the primary provider's price table), and following the
    settings changes other processes make (every ``refresh`` seconds)."""
    budgets = Budgets(store, host=host_budget, currency=engine.spec.prices.currency)
    policy = PolicyService(store, budgets=budgets)
    sync = PolicySync(policy, store, interval=refresh)
    await sync.start()
    engine.on_finished(policy.job_finished)
    try:
        yield policy
    finally:
        await sync.stop()


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    ops: Ops | None = None,
    session: aiohttp.ClientSession | None = None,
) -> AsyncIterator[Services]:
    """Yield the started engine and the loaded policy service; both are closed on exit.

    The bot is built with these injected (discord.py's ``advanced_startup`` pattern), so its
    resources open before it logs in and close after its gateway is gone. ``ops`` gets their
    metrics and readiness (``open_engine``); ``session``, when given, carries the engine's
    upstream requests (the playground traces them).
    """
    host = Budget(monthly=settings.global_monthly_budget, daily=settings.global_daily_budget)
    async with (
        open_database(settings) as database,
        open_engine(settings, database=database, ops=ops, session=session) as engine,
        running_policy(
            SqlPolicyStore(database),
            engine,
            refresh=settings.policy_refresh_seconds,
            host_budget=host,
        ) as policy,
    ):
        yield Services(engine, policy)


def watch_engine(ops: Ops, engine: Engine, database: Database) -> None:
    """Count the engine's jobs, and make ``/readyz`` wait for the database to answer a query."""
    ops.metrics.watch_engine(engine)

    async def database_answers() -> None:
        await database.fetch_one("SELECT 1")

    ops.readiness.add_check(DATABASE_CHECK, database_answers)
