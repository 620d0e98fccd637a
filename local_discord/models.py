"""The fake's world objects (users, guilds, channels, messages, attachments) and their payloads."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from local_discord.payloads import (
    JSON,
    AttachmentPayload,
    ChannelPayload,
    InteractionMetadataPayload,
    MemberPayload,
    MessagePayload,
    OverwritePayload,
    RolePayload,
    UserPayload,
)
from local_discord.snowflake import iso

log = logging.getLogger(__name__)

# Channel types (the ones the fake can host messages in, plus categories).
TEXT_CHANNEL = 0
DM_CHANNEL = 1
CATEGORY_CHANNEL = 4
NEWS_CHANNEL = 5

# Message flags the fake reads.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15


@dataclass(eq=False, slots=True)
class User:
    """A Discord user (members, the bot and DM partners are all users)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    # The language the user's client is set to: sent as ``locale`` on their interactions (the
    # user object itself shows it only to OAuth apps, so ``payload`` leaves it out).
    locale: str = "en-US"

    def payload(self) -> UserPayload:
        """The user object (fresh dict: callers may embed it anywhere)."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }


@dataclass(eq=False, slots=True)
class Role:
    """A guild role; the @everyone role has the guild's ID."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def payload(self) -> RolePayload:
        """The role object discord.py's ``Role`` parses."""
        out: RolePayload = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            out["tags"] = {"bot_id": str(self.bot_id)}
        return out


@dataclass(eq=False, slots=True)
class Overwrite:
    """A channel permission overwrite; ``type`` 0 = role, 1 = member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> OverwritePayload:
        """The overwrite object."""
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(eq=False, slots=True)
class Channel:
    """A guild text/news/category channel or a DM channel."""

    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    nsfw: bool = False
    topic: str | None = None
    parent_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipient: User | None = None
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    # IDs of messages created here, ascending (snowflakes are monotonic), for history queries.
    message_ids: list[int] = field(default_factory=list)

    def payload(self) -> ChannelPayload:
        """The channel object (guild channels include overwrites and ``nsfw``)."""
        if self.type == DM_CHANNEL:
            dm: ChannelPayload = {
                "id": str(self.id),
                "type": DM_CHANNEL,
                "last_message_id": None
                if self.last_message_id is None
                else str(self.last_message_id),
                "recipients": [] if self.recipient is None else [self.recipient.payload()],
                "flags": 0,
            }
            return dm
        out: ChannelPayload = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites.values()],
            "nsfw": self.nsfw,
            "topic": self.topic,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": 0,
        }
        if self.guild_id is not None:
            out["guild_id"] = str(self.guild_id)
        return out


# Targets of an application command permission (Server Settings → Integrations).
COMMAND_PERMISSION_ROLE = 1
COMMAND_PERMISSION_USER = 2
COMMAND_PERMISSION_CHANNEL = 3


@dataclass(frozen=True, slots=True)
class CommandPermission:
    """One Integrations override: a role, user or channel may (or may not) use a command.

    The ``@everyone`` role has the guild's ID; "all channels" is the guild's ID minus one.
    """

    id: int
    type: int
    permission: bool

    def payload(self) -> JSON:
        """The application command permission object."""
        return {"id": str(self.id), "type": self.type, "permission": self.permission}


@dataclass(eq=False, slots=True)
class Member:
    """A user's membership in a guild."""

    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: dt.datetime | None = None

    @property
    def id(self) -> int:
        """The member's user ID."""
        return self.user.id

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> MemberPayload:
        """The member object; interactions add the resolved channel ``permissions``."""
        out: MemberPayload = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            out["user"] = self.user.payload()
        if permissions is not None:
            out["permissions"] = str(permissions)
        return out


@dataclass(eq=False, slots=True)
class Guild:
    """A server: roles (incl. @everyone), channels and members, all keyed by ID."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    preferred_locale: str = "en-US"
    premium_tier: int = 0
    joined_at: dt.datetime | None = None

    @property
    def everyone(self) -> Role:
        """The @everyone role."""
        return self.roles[self.id]

    def payload(self) -> JSON:
        """The full GUILD_CREATE object (``unavailable: false``, every list discord.py reads)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": self.premium_tier,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "max_members": 500000,
            "max_video_channel_users": 25,
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in self.channels.values()],
            "threads": [],
            "members": [m.payload() for m in self.members.values()],
            "member_count": len(self.members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": iso(self.joined_at),
            "lazy": True,
            "application_id": None,
            "incidents_data": None,
        }


@dataclass(eq=False, slots=True)
class StoredAttachment:
    """An uploaded file: its bytes are served back at ``url`` like Discord's CDN."""

    id: int
    channel_id: int
    filename: str
    content_type: str | None
    size: int
    data: bytes
    url: str
    proxy_url: str
    width: int | None = None
    height: int | None = None
    description: str | None = None
    ephemeral: bool = False
    expired: bool = False

    def payload(self) -> AttachmentPayload:
        """The attachment object discord.py's ``Attachment`` parses."""
        out: AttachmentPayload = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.proxy_url,
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "flags": 0,
        }
        if self.description is not None:
            out["description"] = self.description
        if self.ephemeral:
            out["ephemeral"] = True
        return out


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """One state of a message as Discord stored it: created, each edit, and the delete."""

    kind: str  # "create" | "edit" | "delete"
    at: float  # LocalDiscord clock seconds
    timestamp: dt.datetime
    payload: MessagePayload
    route: str | None = None


@dataclass(eq=False, slots=True)
class StoredMessage:
    """A message with its full edit history; ``payload()`` is cached until the next change."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    created_at: dt.datetime
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    pinned: bool = False
    mention_user_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    allowed_mentions: JSON | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: InteractionMetadataPayload | None = None
    interaction_id: int | None = None
    message_reference: JSON | None = None
    nonce: str | int | None = None
    edited_at: dt.datetime | None = None
    deleted: bool = False
    versions: list[MessageVersion] = field(default_factory=list)
    # Resolved by the World when the payload is built (mentions need user payloads).
    mention_users: list[User] = field(default_factory=list)
    _payload: MessagePayload | None = None

    @property
    def ephemeral(self) -> bool:
        """Only the invoking user sees it; the channel endpoints cannot reach it."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred "Bot is thinking…" response that has not been edited yet."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def edits(self) -> list[MessageVersion]:
        """Only the edit versions, oldest first."""
        return [v for v in self.versions if v.kind == "edit"]

    def touch(self) -> None:
        """Drop the cached payload after a change."""
        self._payload = None

    def payload(self) -> MessagePayload:
        """The message object (cached; never mutated once handed out)."""
        if self._payload is not None:
            return self._payload
        out: MessagePayload = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso(self.created_at) or "",
            "edited_timestamp": iso(self.edited_at),
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": [u.payload() for u in self.mention_users],
            "mention_roles": [str(r) for r in self.mention_role_ids],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": self.pinned,
            "type": self.type,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            out["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            out["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            out["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            out["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            out["message_reference"] = self.message_reference
        if self.nonce is not None:
            out["nonce"] = self.nonce
        self._payload = out
        return out

    def custom_ids(self) -> dict[str, int]:
        """Every component ``custom_id`` on the message mapped to its component type."""
        found: dict[str, int] = {}
        _walk_components(self.components, found)
        return found


def _walk_components(components: list[Any], found: dict[str, int]) -> None:
    for comp in components:
        if not isinstance(comp, dict):
            continue
        cid = comp.get("custom_id")
        if isinstance(cid, str):
            found[cid] = int(comp.get("type", 0))
        children = comp.get("components")
        if isinstance(children, list):
            _walk_components(children, found)
        for key in ("accessory", "component"):
            child = comp.get(key)
            if isinstance(child, dict):
                _walk_components([child], found)
