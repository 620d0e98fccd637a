"""Build the engine from settings: the HTTP session, the provider, and the sandbox when in use.

One place owns these lifecycles so the bot, the command line and the tests start and stop them
the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from pydantic import SecretStr

from bot.jobs.engine import Engine, EngineConfig
from bot.providers.catalog import toapis_model_spec
from bot.providers.toapis import ToAPIsProvider
from bot.sandbox.server import Sandbox
from bot.settings import ProviderName, Settings

log = logging.getLogger(__name__)

SANDBOX_KEY = SecretStr("sandbox")


def engine_config(settings: Settings) -> EngineConfig:
    """Engine timing from settings; the sandbox is polled faster since it is local."""
    sandbox = settings.provider is ProviderName.SANDBOX
    return EngineConfig(
        poll_first_delay=min(settings.poll_first_delay, 1.0)
        if sandbox
        else settings.poll_first_delay,
        poll_interval=min(settings.poll_interval, 1.0) if sandbox else settings.poll_interval,
        job_timeout=settings.job_timeout,
    )


@asynccontextmanager
async def open_engine(
    settings: Settings, *, session: aiohttp.ClientSession | None = None
) -> AsyncIterator[Engine]:
    """Yield a ready Engine; everything it opened is closed on exit."""
    async with AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(aiohttp.ClientSession())
        spec = toapis_model_spec(settings.image_model, settings.image_size_table)
        if settings.provider is ProviderName.SANDBOX:
            sandbox = Sandbox(task_duration=settings.sandbox_task_duration)
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
            base_url,
            api_key,
            spec,
            session=session,
            request_timeout=settings.image_request_timeout,
        )
        stack.push_async_callback(provider.close)
        yield Engine(provider, engine_config(settings), label=label)
