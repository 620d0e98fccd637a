"""TypedDicts for the JSON objects the fake builds, shaped to what discord.py 2.7 reads."""

from __future__ import annotations

import json
import logging
from typing import Any, NotRequired, TypedDict

import orjson

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# What the stdlib does too: int keys become strings; dataclasses and datetimes are refused
# (passed through to the stdlib, which raises TypeError) rather than serialised.
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def dumps(obj: Any) -> str:
    """Compact JSON, the way Discord sends it (gateway frames and REST bodies alike).

    orjson on every frame and answer (a few times faster: the local Discord shares the CPUs with
    the bots it serves); the stdlib for what orjson refuses (integers beyond 64 bits, lone
    surrogates), with the same compact, non-ASCII-escaping output.
    """
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def dumps_utf8(obj: Any) -> bytes:
    """``dumps(obj).encode()`` without the round trip through ``str`` (HTTP bodies)."""
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class UserPayload(TypedDict):
    id: str
    username: str
    discriminator: str
    global_name: str | None
    avatar: str | None
    bot: bool
    system: bool
    public_flags: int
    flags: int
    banner: str | None
    accent_color: int | None
    avatar_decoration_data: None
    collectibles: None
    primary_guild: None


class RoleTagsPayload(TypedDict, total=False):
    bot_id: str


class RoleColorsPayload(TypedDict):
    primary_color: int
    secondary_color: int | None
    tertiary_color: int | None


class RolePayload(TypedDict):
    id: str
    name: str
    permissions: str
    position: int
    color: int
    colors: RoleColorsPayload
    hoist: bool
    managed: bool
    mentionable: bool
    icon: str | None
    unicode_emoji: str | None
    flags: int
    tags: NotRequired[RoleTagsPayload]


class OverwritePayload(TypedDict):
    id: str
    type: int
    allow: str
    deny: str


class ChannelPayload(TypedDict):
    id: str
    type: int
    name: NotRequired[str | None]
    guild_id: NotRequired[str]
    position: NotRequired[int]
    permission_overwrites: NotRequired[list[OverwritePayload]]
    nsfw: NotRequired[bool]
    topic: NotRequired[str | None]
    parent_id: NotRequired[str | None]
    last_message_id: NotRequired[str | None]
    rate_limit_per_user: NotRequired[int]
    flags: NotRequired[int]
    recipients: NotRequired[list[UserPayload]]
    permissions: NotRequired[str]


class MemberPayload(TypedDict):
    user: NotRequired[UserPayload]
    nick: str | None
    avatar: str | None
    banner: str | None
    roles: list[str]
    joined_at: str | None
    premium_since: str | None
    deaf: bool
    mute: bool
    flags: int
    pending: bool
    communication_disabled_until: str | None
    permissions: NotRequired[str]


class AttachmentPayload(TypedDict):
    id: str
    filename: str
    size: int
    url: str
    proxy_url: str
    content_type: NotRequired[str | None]
    width: NotRequired[int | None]
    height: NotRequired[int | None]
    description: NotRequired[str]
    ephemeral: NotRequired[bool]
    flags: NotRequired[int]


class InteractionMetadataPayload(TypedDict):
    id: str
    type: int
    user: UserPayload
    authorizing_integration_owners: dict[str, str]
    name: NotRequired[str]
    command_type: NotRequired[int]
    original_response_message_id: NotRequired[str]
    interacted_message_id: NotRequired[str]
    target_user: NotRequired[UserPayload]
    target_message_id: NotRequired[str]
    triggering_interaction_metadata: NotRequired[InteractionMetadataPayload]


class MessagePayload(TypedDict):
    id: str
    channel_id: str
    guild_id: NotRequired[str]
    author: UserPayload
    member: NotRequired[MemberPayload]
    content: str
    timestamp: str
    edited_timestamp: str | None
    tts: bool
    mention_everyone: bool
    mentions: list[UserPayload]
    mention_roles: list[str]
    attachments: list[AttachmentPayload]
    embeds: list[JSON]
    components: list[JSON]
    pinned: bool
    type: int
    flags: int
    webhook_id: NotRequired[str]
    application_id: NotRequired[str]
    interaction_metadata: NotRequired[InteractionMetadataPayload]
    message_reference: NotRequired[JSON]
    referenced_message: NotRequired[MessagePayload | None]
    nonce: NotRequired[str | int]
