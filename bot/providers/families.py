"""One registry of provider families: how a profile of each family becomes a client.

A profile (``profiles.toml``, or an admin's ``IMAGE_PROFILES_FILE``) names its family, and
everything that differs between families is one entry of ``FAMILIES``: the limits its models
take (``ModelSpec``), the words ``python -m bot models`` uses for them, and how the client is
built. So another gateway of a known family is a profile, never a code change; a new family is a
package beside ``toapis`` and ``openai`` plus one entry here (and an emulator in ``bot.sandbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr

from bot.providers.base import ImageProvider
from bot.providers.catalog import DEFAULT_EDIT_MODEL, ModelSpec, SizeTableName
from bot.providers.describe import Rows, common_rows, openai_rows, toapis_rows
from bot.providers.openai.client import Moderation
from bot.providers.openai.tasks import OpenAICompatProvider
from bot.providers.profiles import (
    Family,
    ProviderProfile,
    openai_model_spec,
    shipped_profiles,
    toapis_spec,
)
from bot.providers.toapis.provider import ToAPIsProvider


@dataclass(frozen=True)
class Endpoint:
    """How to reach one API: from the settings, or pointing at the sandbox's emulator."""

    api_key: SecretStr
    base_url: str | None = None  # None: the profile's
    model: str | None = None  # None: the profile's default model
    edit_model: str | None = None  # None: the profile's (or the model itself)
    size_table: SizeTableName = "seed"
    request_timeout: float = 300.0  # one HTTP call of an async-task API
    sync_timeout: float | None = None  # one synchronous image call; None: the profile's
    moderation: Moderation | None = None
    partial_images: int | None = None  # None: the profile's


SpecBuilder = Callable[[ProviderProfile, str, str, SizeTableName], ModelSpec]
Describer = Callable[[ProviderProfile, ModelSpec, int | None], Rows]
Builder = Callable[[ProviderProfile, ModelSpec, Endpoint, aiohttp.ClientSession], ImageProvider]


@dataclass(frozen=True)
class ProviderFamily:
    """What Easel needs to know about one family of APIs."""

    spec: SpecBuilder  # the limits of a model of a profile, checked before any spend
    describe: Describer  # family-specific rows for ``python -m bot models``
    build: Builder  # the client, behind ``ImageProvider``


def _toapis_provider(
    profile: ProviderProfile, spec: ModelSpec, at: Endpoint, session: aiohttp.ClientSession
) -> ImageProvider:
    return ToAPIsProvider(
        at.base_url or profile.base_url,
        at.api_key,
        spec,
        session=session,
        request_timeout=at.request_timeout,
        name=profile.name,
        label=profile.label,
    )


def _openai_provider(
    profile: ProviderProfile, spec: ModelSpec, at: Endpoint, session: aiohttp.ClientSession
) -> ImageProvider:
    return OpenAICompatProvider(
        profile,
        at.api_key,
        spec,
        base_url=at.base_url,
        session=session,
        request_timeout=at.sync_timeout,
        moderation=at.moderation,
        partial_images=at.partial_images,
    )


_ROW_ORDER = (
    "sizes", "tiers", "n", "quality", "formats", "mask", "edits", "delivery", "prompt", "prices"
)  # fmt: skip

FAMILIES: Mapping[Family, ProviderFamily] = {
    "toapis": ProviderFamily(spec=toapis_spec, describe=toapis_rows, build=_toapis_provider),
    "openai": ProviderFamily(spec=openai_model_spec, describe=openai_rows, build=_openai_provider),
}


def model_spec(
    profile: ProviderProfile,
    model_id: str | None = None,
    edit_model_id: str | None = None,
    *,
    size_table: SizeTableName = "seed",
) -> ModelSpec:
    """The ``ModelSpec`` the engine validates against, for a model of a profile (None: its own).

    Edits go to ``edit_model_id``, else the profile's edit model, else the model itself.
    """
    model_id = model_id or profile.model
    edit_model_id = edit_model_id or profile.edit_model or model_id
    return FAMILIES[profile.family].spec(profile, model_id, edit_model_id, size_table)


def build_provider(
    profile: ProviderProfile, endpoint: Endpoint, session: aiohttp.ClientSession
) -> ImageProvider:
    """The client for a profile at an endpoint, with the spec of the endpoint's models."""
    spec = model_spec(profile, endpoint.model, endpoint.edit_model, size_table=endpoint.size_table)
    return FAMILIES[profile.family].build(profile, spec, endpoint, session)


def capabilities(
    profile: ProviderProfile, spec: ModelSpec, *, partial_images: int | None = None
) -> Rows:
    """What one model of one provider can do, as label → text."""
    rows = {**common_rows(spec), **FAMILIES[profile.family].describe(profile, spec, partial_images)}
    order = [key for key in _ROW_ORDER if key in rows]
    return {key: rows[key] for key in [*order, *(key for key in rows if key not in order)]}


def toapis_model_spec(
    model_id: str, table: SizeTableName = "seed", *, edit_model: str | None = DEFAULT_EDIT_MODEL
) -> ModelSpec:
    """The spec of a ToAPIs model id, from the shipped ``toapis`` profile.

    Unknown ids get the plain gpt-image-2 rules. ``edit_model`` is the model edits go to
    (``IMAGE_EDIT_MODEL``); None or the same id means this model takes its own edits. For callers
    that have no profile at hand (the ToAPIs emulator, tests).
    """
    profile = shipped_profiles()["toapis"]
    return model_spec(profile, model_id, edit_model or model_id, size_table=table)
