"""OpenAI-compatible providers pointed at the emulator, built the way the engine tests need them."""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.providers.families import model_spec
from bot.providers.openai.tasks import OpenAICompatProvider
from bot.providers.profiles import load_profiles
from bot.sandbox.openai_server import Flavour, OpenAISandbox

PROFILES = load_profiles()
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused


async def no_sleep(_: float) -> None:
    """An injected ``sleep`` that returns at once, so retries cost the tests no time."""
    return


def compat_provider(
    server: OpenAISandbox, session: aiohttp.ClientSession, **options: Any
) -> OpenAICompatProvider:
    """A provider for ``server``'s API (any key works), with ``options`` for the provider."""
    profile = PROFILES[server.flavour]
    return OpenAICompatProvider(
        profile,
        SecretStr("k"),
        model_spec(profile),
        base_url=server.base_url,
        session=session,
        **options,
    )


def unreachable_provider(flavour: Flavour, session: aiohttp.ClientSession) -> OpenAICompatProvider:
    """A provider whose API refuses every connection, retrying without waiting."""
    profile = PROFILES[flavour]
    return OpenAICompatProvider(
        profile,
        SecretStr("k"),
        model_spec(profile),
        base_url=UNREACHABLE,
        session=session,
        sleep=no_sleep,
    )
