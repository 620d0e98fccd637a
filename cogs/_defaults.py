"""Discord glue for defaults: the layers that apply to an interaction, and applying them.

The commands call ``resolve_with_defaults`` with the options the member typed (None for those
left out); the member's, the channel's and the server's defaults fill the rest
(``bot.policy.defaulting``), and what came from where rides with the job to its message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.client import Interaction
from bot.i18n import Lang, Text, _
from bot.jobs.models import AppliedDefault, JobRequest, ResolvedRequest
from bot.policy.defaulting import Build, apply_defaults, defaults_problem
from bot.policy.defaults import (
    FIELDS,
    DefaultLayer,
    JobDefaults,
    OptionField,
    applied_text,
    layers,
)
from cogs._options import PROMPT_MAX_CHARS
from cogs._policy import place_context
from cogs._render import settings_line

log = logging.getLogger(__name__)

CHECK_PROMPT = "defaults check"  # the prompt of the request a default is checked with


def layers_for(
    interaction: Interaction, *, member: JobDefaults | None = None
) -> list[DefaultLayer]:
    """The defaults that apply where ``interaction`` happens, strongest first (``member``: these
    instead of the member's stored ones)."""
    guild_id = interaction.guild_id
    if guild_id is None:
        return []
    policy = interaction.client.policy
    settings = policy.settings(guild_id)
    places = place_context(interaction, command="imagine").places
    own = member if member is not None else policy.preferences.of(guild_id, interaction.user.id)
    return layers(settings.defaults, settings.channel_defaults, places, own)


def resolve_with_defaults(
    interaction: Interaction,
    typed: dict[OptionField, Any],
    request: Callable[[dict[OptionField, Any]], JobRequest],
    *,
    options: Iterable[OptionField] = FIELDS,
) -> tuple[ResolvedRequest, list[AppliedDefault]]:
    """Validate ``request(values)`` with the left-out ``options`` filled from the defaults.

    Raises ``InputError`` when the typed options themselves do not fit the image service.
    """
    engine = interaction.client.engine

    def build(values: dict[OptionField, Any]) -> ResolvedRequest:
        return engine.validate(request(values), max_prompt_chars=PROMPT_MAX_CHARS)

    settings = interaction.client.policy.settings(interaction.guild_id)
    return apply_defaults(typed, layers_for(interaction), build, settings, options=options)


def check_layers(interaction: Interaction, found: list[DefaultLayer]) -> Text | None:
    """Why the image service or the server's rules would refuse these layers together (None:
    they fit), checked as ``/imagine`` would use them."""
    engine = interaction.client.engine

    def build(values: dict[OptionField, Any]) -> ResolvedRequest:
        return engine.validate(JobRequest.model_validate({"prompt": CHECK_PROMPT, **values}))

    checker: Build = build
    settings = interaction.client.policy.settings(interaction.guild_id)
    return defaults_problem(found, checker, settings)


def effective_text(interaction: Interaction, tr: Lang) -> str:
    """What ``/imagine`` with only a prompt makes here, and which defaults that comes from."""
    resolved, applied = resolve_with_defaults(
        interaction,
        {},
        lambda values: JobRequest.model_validate({"prompt": CHECK_PROMPT, **values}),
    )
    sources = applied_text(applied, tr)
    line = settings_line(resolved, tr)
    return line + "\n" + (sources or tr(_("No defaults apply here.")))
