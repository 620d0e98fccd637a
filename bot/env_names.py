"""Strict setting names: a variable that looks like one of Easel's but is not is an error.

A misspelt ``IMAGE_PROVDER=openai`` would otherwise be ignored, and the bot would quietly run
on its defaults (the sandbox's placeholder images, say). "Looks like Easel's" means: starts
with the first word of a setting (``IMAGE_``, ``HTTP_``, ``LOG_``, …, taken from the settings
model, so a new setting is covered without a change here), with ``PROVIDERS__``, or with a
provider profile's name (``OPENAI_``, or a profile of ``IMAGE_PROFILES_FILE``). Such a name
must be a setting; the error suggests the nearest one.

Variables other software sets in the same namespace are left alone: proxies (``HTTP_PROXY``),
the OpenAI SDK's own, and the service links Kubernetes and Docker put in every container
(``EASEL_SERVICE_HOST``, ``EASEL_PORT_8080_TCP``, … for a service named easel).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from contextlib import suppress
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, get_args

from dotenv import dotenv_values
from pydantic_settings import BaseSettings

from bot.errors import ConfigError
from bot.provider_settings import PROVIDER_PARTS
from bot.providers.profiles import shipped_profile_data

NESTED = "__"  # the settings' env_nested_delimiter: PROVIDERS__OPENAI__API_KEY
# Set by other software in the same namespace; never Easel's.
FOREIGN = frozenset(
    {
        "HTTP_PROXY",
        "OPENAI_ORG_ID",
        "OPENAI_ORGANIZATION",
        "OPENAI_PROJECT_ID",
        "OPENAI_LOG",
    }
)
SERVICE_LINK = re.compile(
    r"^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$"
)
SUGGEST_CUTOFF = 0.6  # how alike a name must be to be suggested
# A name with no Easel prefix is still caught when it is this close to a provider's name
# (STARISE_API_KEY for STARRISE_API_KEY), so other tools' *_API_KEY stay alone.
LOOKALIKE_CUTOFF = 0.85


class Variable(NamedTuple):
    """One variable a user set, and where: the environment or the env file."""

    name: str  # as written (Easel matches names regardless of case)
    source: str
    value: str


def given_variables(env_file: Any) -> dict[str, Variable]:
    """Every variable the settings could read: the env file's, then the environment's."""
    found: dict[str, Variable] = {}
    for path in _env_files(env_file):
        if path.is_file():
            for name, value in dotenv_values(path).items():
                found[name.upper()] = Variable(name, str(path), value or "")
    for name, value in os.environ.items():
        found[name.upper()] = Variable(name, "the environment", value)
    return found


def _env_files(env_file: Any) -> list[Path]:
    if env_file is None:
        return []
    if isinstance(env_file, str | os.PathLike):
        return [Path(env_file)]
    return [Path(entry) for entry in env_file]


def profile_names(variables: Mapping[str, Variable]) -> list[str]:
    """The shipped profiles' names and the tables of the ``IMAGE_PROFILES_FILE`` named in
    ``variables`` (unreadable: the settings report it themselves)."""
    names = list(shipped_profile_data())
    given = variables.get("IMAGE_PROFILES_FILE")
    extra = given.value.strip() if given else ""
    if extra:
        with suppress(OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            names += list(tomllib.loads(Path(extra).read_text(encoding="utf-8")))
    return list(dict.fromkeys(name.lower() for name in names))


def known_names(settings_cls: type[BaseSettings], profiles: Iterable[str]) -> set[str]:
    """Every variable name Easel reads, upper case."""
    names = {field.upper() for field in settings_cls.model_fields}
    for profile in profiles:
        for part in PROVIDER_PARTS:
            names.add(f"{profile}_{part}".upper())
            names.add(f"PROVIDERS{NESTED}{profile}{NESTED}{part}".upper())
    return names


def prefixes(settings_cls: type[BaseSettings], profiles: Iterable[str]) -> tuple[str, ...]:
    """The beginnings that mark a name as meant for Easel."""
    found = set()
    for field in settings_cls.model_fields:
        first, underscore, _ = field.partition("_")
        found.add(f"{first}_".upper() if underscore else f"{first}{NESTED}".upper())
    found |= {f"{profile}_".upper() for profile in profiles}
    return tuple(sorted(found))


def check_names(settings_cls: type[BaseSettings], variables: Mapping[str, Variable]) -> None:
    """Raise ``ConfigError`` for the first variable that looks like a setting but is none."""
    profiles = profile_names(variables)
    known = known_names(settings_cls, profiles)
    starts = prefixes(settings_cls, profiles)
    provider_names = sorted(name for name in known if name.endswith(_PART_SUFFIXES))
    for upper, variable in sorted(variables.items()):
        if upper in known or upper in FOREIGN or SERVICE_LINK.match(upper):
            continue
        if upper.startswith(starts):
            suggestion = _nearest(upper, sorted(known), SUGGEST_CUTOFF)
        else:
            suggestion = _nearest(upper, provider_names, LOOKALIKE_CUTOFF)
            if suggestion is None:
                continue
        hint = (
            f"; did you mean {suggestion}?"
            if suggestion
            else ": remove it, or see .env.example for the names"
        )
        where = f"set in {variable.source}"
        raise ConfigError(variable.name, f"is not an Easel setting ({where}){hint}")


_PART_SUFFIXES = tuple(f"_{part.upper()}" for part in PROVIDER_PARTS)


def _nearest(name: str, known: list[str], cutoff: float) -> str | None:
    matches = difflib.get_close_matches(name, known, n=1, cutoff=cutoff)
    return matches[0] if matches else None


def any_case(annotation: Any, value: Any) -> Any:
    """``value`` spelt as one of the fixed choices of a field's type (a ``Literal``, a
    ``StrEnum``, or an optional one) when it is one in another case; else as it is."""
    if not isinstance(value, str):
        return value
    return _choices(annotation).get(value.strip().casefold(), value)


def _choices(annotation: Any) -> dict[str, str]:
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return {member.value.casefold(): member.value for member in annotation}
    found: dict[str, str] = {}
    for arg in get_args(annotation):
        if isinstance(arg, str):
            found[arg.casefold()] = arg
        elif arg is not type(None):
            found.update(_choices(arg))
    return found
