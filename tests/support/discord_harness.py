"""Drive the real discord.py CommandTree in-process and record what it sends to Discord.

Interaction callbacks, follow-ups and original-response edits all go through discord.py's webhook
adapter, held in a ContextVar; the recorder replaces it (shared/reference/discord.md §3.4).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.webhook.async_ as webhook_async
from discord.http import Route

APP_ID = 900_000_000_000_000_001
GUILD_ID = 900_000_000_000_000_002
CHANNEL_ID = 900_000_000_000_000_003
USER_ID = 900_000_000_000_000_004
BOT_USER_ID = APP_ID
DEFAULT_SIZE_LIMIT = 10 * 1024 * 1024

_ids = itertools.count(1)


def snowflake() -> int:
    """A fresh snowflake stamped now (discord.py derives created_at and expiry from it)."""
    return discord.utils.time_snowflake(discord.utils.utcnow()) + next(_ids)


@dataclass
class RecordedCall:
    """One request discord.py made through the webhook adapter."""

    method: str
    url: str
    payload: dict[str, Any] | None
    files: list[tuple[str, bytes]]
    at: float

    @property
    def is_callback(self) -> bool:
        return self.url.endswith("/callback")

    @property
    def is_original_edit(self) -> bool:
        """An edit of the job's message through the interaction webhook."""
        return self.method == "PATCH" and "/webhooks/" in self.url and "/messages/" in self.url

    @property
    def flags(self) -> int:
        payload = self.payload or {}
        return int(payload.get("flags") or payload.get("data", {}).get("flags") or 0)


@dataclass
class RecordingAdapter(webhook_async.AsyncWebhookAdapter):
    """Answers like Discord would and keeps every call, with its time."""

    calls: list[RecordedCall] = field(default_factory=list)
    message_id: int = field(default_factory=snowflake)

    def __post_init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Condition()

    async def request(  # type: ignore[override]
        self,
        route: Route,
        session: Any = None,
        *,
        payload: dict[str, Any] | None = None,
        multipart: list[dict[str, Any]] | None = None,
        files: Any = None,
        **_: Any,
    ) -> Any:
        if multipart is not None:
            for part in multipart:
                if part.get("name") == "payload_json":
                    payload = json.loads(part["value"])
        recorded = [(f.filename, _file_bytes(f)) for f in files or []]
        call = RecordedCall(route.method, route.url, payload, recorded, time.monotonic())
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        if call.is_callback:
            return {
                "interaction": {
                    "id": "1",
                    "type": 2,
                    "response_message_id": str(self.message_id),
                    "response_message_loading": True,
                    "response_message_ephemeral": bool(call.flags & 64),
                }
            }
        if route.method == "DELETE":
            return None
        return message_payload(self.message_id, payload or {}, recorded)

    async def wait_for(
        self, predicate: Callable[[list[RecordedCall]], bool], timeout: float = 10
    ) -> None:
        """Wait until the recorded calls satisfy ``predicate``."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.calls)), timeout)

    @property
    def original_edits(self) -> list[RecordedCall]:
        return [call for call in self.calls if call.is_original_edit]


def _file_bytes(file: discord.File) -> bytes:
    fp = file.fp
    position = fp.tell()
    fp.seek(0)
    data = fp.read()
    fp.seek(position)
    return data


def message_object(
    message_id: int,
    author: dict[str, Any],
    attachments: list[dict[str, Any]],
    *,
    content: str = "",
    embeds: list[dict[str, Any]] | None = None,
    flags: int = 0,
    components: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message in the test channel, complete enough for discord.py's Message constructor."""
    return {
        "id": str(message_id),
        "channel_id": str(CHANNEL_ID),
        "guild_id": str(GUILD_ID),
        "author": author,
        "content": content,
        "timestamp": discord.utils.utcnow().isoformat(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": embeds or [],
        "pinned": False,
        "type": 0,
        "flags": flags,
        "components": components or [],
    }


def message_payload(
    message_id: int, payload: dict[str, Any], files: list[tuple[str, bytes]]
) -> dict[str, Any]:
    """The message Easel posted with ``payload`` and ``files``, as Discord answers with it."""
    message = message_object(
        message_id,
        user_payload(BOT_USER_ID, "Easel", bot=True),
        [
            {
                "id": str(snowflake()),
                "filename": name,
                "size": len(data),
                "url": f"https://cdn.test/{name}",
                "proxy_url": f"https://cdn.test/{name}",
            }
            for name, data in files
        ],
        content=payload.get("content") or "",
        embeds=payload.get("embeds"),
        flags=payload.get("flags", 0),
        components=payload.get("components"),
    )
    return {**message, "webhook_id": str(APP_ID)}


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def channel_payload() -> dict[str, Any]:
    return {
        "id": str(CHANNEL_ID),
        "type": 0,
        "guild_id": str(GUILD_ID),
        "name": "general",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def slash_command_payload(
    name: str,
    options: list[dict[str, Any]],
    *,
    attachments: dict[str, dict[str, Any]] | None = None,
    user_id: int = USER_ID,
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a guild slash command, as Discord sends it."""
    data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": 1, "options": options}
    if attachments:
        data["resolved"] = {"attachments": attachments}
    return {
        "id": str(snowflake()),
        "application_id": str(APP_ID),
        "type": 2,
        "token": f"token-{snowflake()}",
        "version": 1,
        "guild_id": str(GUILD_ID),
        "channel_id": str(CHANNEL_ID),
        "channel": channel_payload(),
        "member": {
            "user": user_payload(user_id, f"member{user_id % 1000}"),
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "permissions": str(
                discord.Permissions.general().value | discord.Permissions.text().value
            ),
            "flags": 0,
        },
        "app_permissions": str(discord.Permissions.text().value),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
        "context": 0,
        "attachment_size_limit": size_limit,
        "data": data,
    }


def attachment_payload(
    filename: str, url: str, size: int, content_type: str = "image/png"
) -> dict[str, Any]:
    """A resolved attachment, as Discord includes it for an ATTACHMENT option."""
    return {
        "id": str(snowflake()),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
        "ephemeral": True,
    }


async def prepare_bot(bot: discord.Client) -> None:
    """Bind the bot to the running loop and give it a user, without logging in."""
    await bot._async_setup_hook()
    bot._connection.user = discord.ClientUser(
        state=bot._connection, data=user_payload(BOT_USER_ID, "Easel", bot=True)
    )  # type: ignore[arg-type]
    bot._connection.application_id = APP_ID


def dispatch(bot: discord.Client, payload: dict[str, Any]) -> None:
    """Hand an INTERACTION_CREATE to discord.py as the gateway would."""
    bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]


def component_payload(
    custom_id: str,
    message: dict[str, Any],
    *,
    user_id: int = USER_ID,
    values: list[str] | None = None,
    manage_messages: bool = False,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a button press (or a select choice when ``values`` is given)."""
    payload = slash_command_payload("unused", [], user_id=user_id)
    payload["type"] = 3
    payload["message"] = message
    payload["data"] = {"custom_id": custom_id, "component_type": 3 if values is not None else 2}
    if values is not None:
        payload["data"]["values"] = values
    # A plain member: can talk and attach, not manage messages or the server.
    permissions = discord.Permissions.text()
    permissions.manage_messages = manage_messages
    payload["member"]["permissions"] = str(permissions.value)
    return payload


def custom_ids(call: RecordedCall) -> list[str]:
    """Every component custom id in a recorded message payload."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "custom_id" in node:
                found.append(node["custom_id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk((call.payload or {}).get("components", []))
    return found
