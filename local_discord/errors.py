"""Discord's JSON error shape and the error codes the fake enforces."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_APPLICATION_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
CANNOT_EDIT_OTHER_USERS_MESSAGE = 50005
CANNOT_SEND_EMPTY_MESSAGE = 50006
REQUEST_ENTITY_TOO_LARGE = 40005
INTERACTION_ALREADY_ACKNOWLEDGED = 40060
MISSING_ACCESS = 50001
CANNOT_SEND_TO_USER = 50007
MISSING_PERMISSIONS = 50013
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035
UNAUTHORIZED = 0


class DiscordError(Exception):
    """An HTTP error answered in Discord's shape: ``{"message", "code", "errors"?}``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Discord would send."""
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            out["errors"] = self.errors
        return out


def form_error(path: str, code: str, message: str) -> DiscordError:
    """A 400/50035 ``Invalid Form Body`` with the nested ``errors`` tree for a dotted ``path``."""
    return form_errors([(path, code, message)])


def form_errors(items: list[tuple[str, str, str]]) -> DiscordError:
    """Several field errors merged into one ``errors`` tree, as Discord reports them."""
    tree: dict[str, Any] = {}
    for path, code, message in items:
        node = tree
        for part in path.split("."):
            if part:
                node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body", errors=tree)


def unknown_message() -> DiscordError:
    """404 / 10008."""
    return DiscordError(404, UNKNOWN_MESSAGE, "Unknown Message")


def missing_permissions() -> DiscordError:
    """403 / 50013."""
    return DiscordError(403, MISSING_PERMISSIONS, "Missing Permissions")


def missing_access() -> DiscordError:
    """403 / 50001 (cannot even see the channel)."""
    return DiscordError(403, MISSING_ACCESS, "Missing Access")


def cannot_send_to_user() -> DiscordError:
    """403 / 50007: the user closed DMs from server members (or blocked the bot)."""
    return DiscordError(403, CANNOT_SEND_TO_USER, "Cannot send messages to this user")


def too_large() -> DiscordError:
    """413 / 40005."""
    return DiscordError(413, REQUEST_ENTITY_TOO_LARGE, "Request entity too large")
