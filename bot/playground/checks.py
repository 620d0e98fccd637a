"""What Discord's client checks before it sends anything: a command's options by type, files
under the upload limit. A member's mistake is a ``PlaygroundError`` in the page's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.i18n import Amount, Text, _, source_lang
from bot.playground.ports import JSON, Upload

_STRING, _INTEGER, _BOOLEAN, _USER, _CHANNEL, _ROLE, _MENTIONABLE, _NUMBER, ATTACHMENT = (
    3, 4, 5, 6, 7, 8, 9, 10, 11,
)  # fmt: skip
_SUBCOMMAND, _GROUP = 1, 2
MAX_CONTENT = 2000  # Discord's message length
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024  # the upload limit of a server without boosts


class PlaygroundError(Exception):
    """Something the member did that Discord's client would not let through; says what to do
    (in the page's language: ``text`` is rendered for each visitor)."""

    def __init__(self, text: Text, status: int = 400) -> None:
        super().__init__(source_lang()(text))
        self.text = text
        self.status = status


def option_defs(command: JSON, subcommand: str | None) -> dict[str, JSON]:
    """The option definitions of ``command`` or of its ``"sub"`` / ``"group sub"``, by name."""
    defs: list[JSON] = command.get("options") or []
    for part in (subcommand or "").split():
        found = next(
            (o for o in defs if o.get("name") == part and o.get("type") in (_SUBCOMMAND, _GROUP)),
            None,
        )
        if found is None:
            raise PlaygroundError(
                _(
                    "/{command} has no subcommand {name}.",
                    command=str(command["name"]),
                    name=repr(part),
                )
            )
        defs = found.get("options") or []
    if any(o.get("type") in (_SUBCOMMAND, _GROUP) for o in defs):
        raise PlaygroundError(_("Pick a subcommand of /{command}.", command=str(command["name"])))
    return {str(o["name"]): o for o in defs}


def coerce(defs: Mapping[str, JSON], options: Mapping[str, Any]) -> dict[str, Any]:
    """The page's values as the option types want them (IDs of users, channels and roles)."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        definition = defs.get(name)
        if definition is None:
            raise PlaygroundError(_("Unknown option {name}.", name=repr(name)))
        kind = definition.get("type")
        if value is None or value == "":
            continue
        try:
            if kind == _INTEGER:
                out[name] = int(value)
            elif kind == _NUMBER:
                out[name] = float(value)
            elif kind == _BOOLEAN:
                out[name] = value if isinstance(value, bool) else str(value).lower() == "true"
            elif kind in (_USER, _CHANNEL, _ROLE, _MENTIONABLE):
                out[name] = int(value)
            elif kind == ATTACHMENT:
                raise PlaygroundError(_("{option}: attach a file.", option=name))
            else:
                out[name] = str(value)
        except ValueError:
            raise PlaygroundError(
                _("{option}: {value} is not a valid value.", option=name, value=repr(value))
            ) from None
    return out


def check_file(upload: Upload) -> None:
    name, data, _content_type = upload
    if len(data) > MAX_FILE_BYTES:
        raise PlaygroundError(
            _(
                "{name} is {size} MB; files can be at most 10 MB here.",
                name=name,
                size=Amount(value=len(data) / 1048576),
            )
        )
