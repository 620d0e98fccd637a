"""A settings problem in the words of someone editing a ``.env`` file.

pydantic's messages name its internals ("Value error,", ``image_providers.1``); a host needs the
variable they wrote, what is wrong with it, and the value they gave where that is safe to show.
"""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot.errors import ConfigError

SECRET_WORDS = ("TOKEN", "KEY", "DATABASE_URL")  # never echo such a value


def config_error(exc: ValidationError | SettingsError) -> ConfigError:
    """The first problem pydantic found, as one line naming the variable."""
    if isinstance(exc, SettingsError):  # a value that had to be JSON (PROVIDERS) and is not
        found = re.search(r'field "(\w+)"', str(exc))
        return ConfigError(found.group(1).upper() if found else "settings", _NOT_JSON)
    error = exc.errors()[0]
    setting = _variable(error["loc"])
    secret = any(word in setting for word in SECRET_WORDS)
    return ConfigError(setting, _describe(error, show_input=not secret))


_NOT_JSON = (
    "cannot be read: as one variable it must be JSON; set each part as its own variable instead "
    "(PROVIDERS__<NAME>__API_KEY=…, see .env.example)"
)


def _variable(loc: tuple[int | str, ...]) -> str:
    """The variable a user wrote for a pydantic location: ``("providers", "x", "model")`` is
    ``PROVIDERS__X__MODEL``; an item of a list is the list's own variable."""
    if not loc:
        return "settings"
    if loc[0] == "providers":
        return "__".join(str(part) for part in loc).upper()
    return str(loc[0]).upper()


# pydantic's error types, in the words of someone editing a .env file.
_PLAIN_WORDS = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "literal_error": "must be {expected}",
    "enum": "must be {expected}",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "extra_forbidden": "is not a provider setting (use API_KEY, BASE_URL, MODEL or EDIT_MODEL)",
}


def _describe(error: Any, *, show_input: bool) -> str:
    """pydantic's message without its internals, with the offending value where it is safe."""
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    words = _PLAIN_WORDS.get(str(error.get("type")))
    if words is not None:
        with suppress(KeyError, IndexError):  # a context pydantic did not give: keep its words
            message = words.format(**error.get("ctx", {}))
    value = error.get("input")
    hidden = not show_input or value is None or isinstance(value, dict) or "(got " in message
    shown = "" if hidden else f" (got {str(value)[:60]!r})"
    return f"{message}{shown}"
