"""Applying defaults to a request, and checking them when they are set.

``build`` is the front end's way from option values to a validated request (it raises
``InputError`` naming the field that does not fit the image service's model), so the same checks
that guard a typed command guard every default. A default is refused when it is set if the
service or the server's rules would refuse it; if one no longer fits later (the typed options
exclude it, an admin lowered a limit, the host changed the service), it is left out of that job,
and the job's message says so, rather than failing a command the member typed correctly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.errors import InputError
from bot.i18n import Text, _, _n
from bot.jobs.models import AppliedDefault, ResolvedRequest
from bot.policy.defaults import FIELDS, DefaultLayer, OptionField, option_text
from bot.policy.models import GuildSettings, resolution_allowed

log = logging.getLogger(__name__)

Build = Callable[[dict[OptionField, Any]], ResolvedRequest]
# When the model refuses one option of a pair, the other may be the default to leave out.
_RELATED: dict[str, tuple[OptionField, ...]] = {
    "ratio": ("ratio", "resolution"),
    "resolution": ("resolution", "ratio"),
    "quality": ("quality",),
    "n": ("n",),
}


def rule_problem(field: OptionField, value: Any, settings: GuildSettings) -> Text | None:
    """Why the server's rules refuse ``value`` for ``field`` (None: they allow it)."""
    if field == "n" and int(value) > settings.max_n:
        return _n(
            "this server allows at most {count} image per job",
            "this server allows at most {count} images per job",
            settings.max_n,
        )
    if field == "resolution" and not resolution_allowed(value, settings.max_resolution):
        return _(
            "this server allows resolutions up to {resolution}",
            resolution=str(settings.max_resolution),
        )
    return None


def apply_defaults(
    typed: dict[OptionField, Any],
    layers: list[DefaultLayer],
    build: Build,
    settings: GuildSettings,
    *,
    options: Iterable[OptionField] = FIELDS,
) -> tuple[ResolvedRequest, list[AppliedDefault]]:
    """The request with every left-out option of ``options`` taken from the strongest layer
    that sets it, and what came from where (defaults that do not fit are left out, with why).

    Raises ``InputError`` when the typed options alone do not fit.
    """
    chosen: dict[OptionField, tuple[Any, DefaultLayer]] = {}
    for field in options:
        if typed.get(field) is not None:
            continue
        layer = next((lay for lay in layers if getattr(lay.defaults, field) is not None), None)
        if layer is not None:
            chosen[field] = (getattr(layer.defaults, field), layer)
    skipped: list[AppliedDefault] = []

    def skip(field: OptionField, reason: Text) -> None:
        value, layer = chosen.pop(field)
        skipped.append(_applied(field, value, layer, skipped=reason))
        log.info("default %s=%s (%s) left out: %s", field, value, layer.source, reason)

    for field, (value, _layer) in list(chosen.items()):
        if (problem := rule_problem(field, value, settings)) is not None:
            skip(field, problem)
    given = {field: value for field, value in typed.items() if value is not None}
    while True:
        try:
            resolved = build(
                {**given, **{field: value for field, (value, _layer) in chosen.items()}}
            )
        except InputError as exc:
            # Of the defaults that may be to blame, the weakest layer's gives way.
            blamed = [f for f in _RELATED.get(exc.field or "", ()) if f in chosen]
            if not blamed:
                raise
            culprit = max(blamed, key=lambda f: layers.index(chosen[f][1]))
            skip(culprit, exc.message_text)
            continue
        used = [_applied(field, value, layer) for field, (value, layer) in chosen.items()]
        return resolved, used + skipped


def defaults_problem(
    layers: list[DefaultLayer], build: Build, settings: GuildSettings
) -> Text | None:
    """Why these layers together (strongest first) would be refused, or None when they fit.

    Checked when a default is set: the new layer with every layer it overrides.
    """
    merged: dict[OptionField, Any] = {}
    for layer in reversed(layers):
        merged.update(layer.defaults.given())
    for field, value in merged.items():
        if (problem := rule_problem(field, value, settings)) is not None:
            # Translators: a default and why the server's rules refuse it.
            return _("{option}: {problem}.", option=option_text(field, value), problem=problem)
    try:
        build(merged)
    except InputError as exc:
        return exc.message_text
    return None


def _applied(
    field: OptionField, value: Any, layer: DefaultLayer, *, skipped: Text | None = None
) -> AppliedDefault:
    return AppliedDefault(
        option=field, value=str(value), source=layer.source, place=layer.place, skipped=skipped
    )
