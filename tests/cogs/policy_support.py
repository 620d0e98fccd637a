"""Payload builders and recorders for the policy, admin and usage tests (not a test module)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import discord

from tests.cogs.conftest import Harness, moderation_log
from tests.support.discord_harness import (
    CHANNEL_ID,
    GUILD_ID,
    RecordedCall,
    channel_payload,
    dispatch,
    slash_command_payload,
    snowflake,
    user_payload,
)

EPHEMERAL = 64
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, use_application_commands=True, attach_files=True
).value
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | discord.Permissions(manage_guild=True).value


def as_member(
    payload: dict[str, Any], *, admin: bool = False, roles: tuple[int, ...] = ()
) -> dict[str, Any]:
    """Make the interaction's member a plain member (or an admin) with these roles."""
    payload["member"]["permissions"] = str(ADMIN_PERMISSIONS if admin else MEMBER_PERMISSIONS)
    payload["member"]["roles"] = [str(role) for role in roles]
    return payload


def in_channel(
    payload: dict[str, Any],
    channel_id: int,
    *,
    nsfw: bool = False,
    thread_of: int | None = None,
    category: int | None = None,
) -> dict[str, Any]:
    """Move the interaction to another channel (a thread when ``thread_of`` is given)."""
    channel = channel_payload()
    channel.update(id=str(channel_id), nsfw=nsfw, name=f"c{channel_id % 1000}")
    if category is not None:
        channel["parent_id"] = str(category)
    if thread_of is not None:
        channel.update(
            type=11,
            parent_id=str(thread_of),
            owner_id=str(payload["member"]["user"]["id"]),
            thread_metadata={
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": discord.utils.utcnow().isoformat(),
                "locked": False,
            },
            message_count=0,
            member_count=1,
        )
    payload["channel"] = channel
    payload["channel_id"] = str(channel_id)
    return payload


def imagine(prompt: str, *, user_id: int | None = None, **options: Any) -> dict[str, Any]:
    """A /imagine payload from a plain member (not an admin) unless changed afterwards."""
    opts = [{"name": "prompt", "type": 3, "value": prompt}]
    opts += [
        {"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in options.items()
    ]
    kw: dict[str, Any] = {} if user_id is None else {"user_id": user_id}
    return as_member(slash_command_payload("imagine", opts, **kw))


def option(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


def easel(
    subcommand: str,
    *options: dict[str, Any],
    group: str | None = None,
    admin: bool = True,
    resolved: dict[str, Any] | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """An ``/easel [group] subcommand`` payload."""
    node: dict[str, Any] = {"type": 1, "name": subcommand, "options": list(options)}
    if group is not None:
        node = {"type": 2, "name": group, "options": [node]}
    kw: dict[str, Any] = {} if user_id is None else {"user_id": user_id}
    payload = slash_command_payload("easel", [node], **kw)
    if resolved:
        payload["data"]["resolved"] = resolved
    return as_member(payload, admin=admin)


def channel_option(name: str, channel_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A channel option and its ``resolved`` entry."""
    data = channel_payload()
    data.update(id=str(channel_id), permissions=str(MEMBER_PERMISSIONS), name="art")
    return option(name, str(channel_id), 7), {"channels": {str(channel_id): data}}


def role_option(name: str, role_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A role option and its ``resolved`` entry."""
    role = {
        "id": str(role_id),
        "name": "artists",
        "color": 0,
        "hoist": False,
        "position": 1,
        "permissions": "0",
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    return option(name, str(role_id), 8), {"roles": {str(role_id): role}}


def user_option(name: str, user_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user option and its ``resolved`` entry."""
    return option(name, str(user_id), 6), {
        "users": {str(user_id): user_payload(user_id, f"member{user_id % 1000}")}
    }


def callbacks(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [call for call in calls if call.is_callback]


def text_of(call: RecordedCall) -> str:
    """Everything a call showed: content and embeds, as one string."""
    payload = call.payload or {}
    data = payload.get("data", payload)
    return str(data.get("content") or "") + str(data.get("embeds") or "")


async def answer(h: Harness, payload: dict[str, Any], timeout: float = 10) -> RecordedCall:
    """Dispatch and return the first message this interaction got (callback or follow-up)."""
    before = len(h.adapter.calls)
    token = payload["token"]

    def answered(calls: list[RecordedCall]) -> bool:
        return any(_shows_text(call, token) for call in calls[before:])

    dispatch(h.bot, payload)
    await h.adapter.wait_for(answered, timeout)
    await asyncio.sleep(0)
    return next(call for call in h.adapter.calls[before:] if _shows_text(call, token))


def _shows_text(call: RecordedCall, token: str) -> bool:
    if token not in call.url:
        return False
    if call.is_callback:
        return (call.payload or {}).get("type") == 4
    return call.method == "POST"  # a follow-up


def is_final(call: RecordedCall) -> bool:
    return call.is_original_edit and (
        bool(call.files) or "ready" in text_of(call) or "Refused" in text_of(call)
    )


async def run_job(h: Harness, payload: dict[str, Any], timeout: float = 15) -> RecordedCall:
    """Dispatch a job command and wait for its final message edit."""
    token = payload["token"]
    before = len(h.adapter.calls)
    dispatch(h.bot, payload)

    def done(calls: list[RecordedCall]) -> bool:
        return any(token in c.url and is_final(c) for c in calls[before:])

    await h.adapter.wait_for(done, timeout)
    await asyncio.sleep(0.05)  # the finish hook ran before the edit; let the log tasks start
    return next(c for c in h.adapter.calls[before:] if token in c.url and is_final(c))


@dataclass
class LogRecorder:
    """Stands in for the moderation log channel: keeps (channel id, embed dict)."""

    posts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    async def post(self, channel_id: int, embed: discord.Embed, guild_id: int) -> None:
        self.posts.append((channel_id, embed.to_dict()))

    def titles(self) -> list[str]:
        return [str(embed.get("title")) for _, embed in self.posts]


def record_log(h: Harness) -> LogRecorder:
    recorder = LogRecorder()
    moderation_log(h.bot).post = recorder.post  # type: ignore[method-assign]
    return recorder


__all__ = [
    "CHANNEL_ID",
    "GUILD_ID",
    "snowflake",
]
