"""Providers pointed at the emulators, built the way the engine tests need them."""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.providers.families import model_spec, toapis_model_spec
from bot.providers.openai.tasks import OpenAICompatProvider
from bot.providers.profiles import load_profiles
from bot.providers.toapis.provider import ToAPIsProvider
from bot.sandbox.openai_server import Flavour, OpenAISandbox
from bot.sandbox.server import Sandbox

PROFILES = load_profiles()
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused


async def no_sleep(_: float) -> None:
    """An injected ``sleep`` that returns at once, so retries cost the tests no time."""
    return


def toapis_provider(
    sandbox: Sandbox, session: aiohttp.ClientSession, *, key: str = "k", **options: Any
) -> ToAPIsProvider:
    """GPT-Image-2 at the ToAPIs ``sandbox`` (any key works but an admin-set wrong one)."""
    spec = toapis_model_spec("gpt-image-2")
    return ToAPIsProvider(sandbox.base_url, SecretStr(key), spec, session=session, **options)


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
