"""The fake's world: who exists, who may do what where, and every message and upload."""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import secrets
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from local_discord.errors import (
    UNKNOWN_APPLICATION_COMMAND,
    DiscordError,
    form_error,
    too_large,
)
from local_discord.interactions import InteractionHandle
from local_discord.localizations import LOCALES
from local_discord.models import (
    DM_CHANNEL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    Channel,
    CommandPermission,
    Guild,
    Member,
    MessageVersion,
    Overwrite,
    Role,
    StoredAttachment,
    StoredMessage,
    User,
)
from local_discord.payloads import JSON, InteractionMetadataPayload, MessagePayload
from local_discord.permissions import (
    DEFAULT_EVERYONE,
    DM_PERMISSIONS,
    Permission,
    apply_overwrites,
    base_permissions,
)
from local_discord.rules import MessageBody, check_command, check_file_count, check_not_empty
from local_discord.snowflake import SnowflakeFactory, utcnow

log = logging.getLogger(__name__)

_USER_MENTION = re.compile(r"<@!?(\d{1,21})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,21})>")
#: The author's permissions in the channel, or how to get them: they are read only when the
#: content mentions someone (most messages mention no one).
Perms = int | Callable[[], int]
_MENTION_EVERYONE = int(Permission.MENTION_EVERYONE)
# Flags a sender may set on create; edits may additionally toggle only these.
CREATE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2
EDIT_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_IS_COMPONENTS_V2


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One ``files[n]`` multipart part (or a file a simulated user uploads)."""

    index: int
    filename: str
    content_type: str | None
    data: bytes


def guess_content_type(filename: str, declared: str | None) -> str | None:
    """Discord derives the type from the file itself; the extension is a close stand-in.

    discord.py declares every part ``application/octet-stream``, so the declared type only wins
    when the extension says nothing.
    """
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    return declared


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _sniff_size(data: bytes) -> tuple[int, int] | None:
    """Dimensions from the header of PNG, GIF, WebP and JPEG files (microseconds, no decode)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8 ":
            return (
                int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF,
            )
        if kind == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if kind == b"VP8X":
            return (
                int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1,
            )
        return None
    if data[:2] == b"\xff\xd8":
        i, n = 2, len(data)
        while i + 9 < n and data[i] == 0xFF:
            marker = data[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            if marker in _JPEG_SOF:
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


_SNIFFED_MAGIC = (b"\x89PNG", b"GIF8", b"RIFF", b"\xff\xd8")


def image_size(data: bytes, content_type: str | None) -> tuple[int | None, int | None]:
    """Width and height for images, else ``(None, None)``.

    Common formats are read from the header directly (this runs on every upload, so it must be
    cheap); Pillow is only asked about other image types.
    """
    if not content_type or not content_type.startswith("image/"):
        return None, None
    size = _sniff_size(data)
    if size is not None:
        return size
    if data[:4].startswith(_SNIFFED_MAGIC):
        return None, None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return int(img.width), int(img.height)
    except (OSError, ValueError, SyntaxError):
        return None, None


class World:
    """Everything the fake Discord knows. Pure state: no I/O; the server dispatches events."""

    def __init__(self) -> None:
        self.ids = SnowflakeFactory()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        # Synced application commands: scope (guild ID, or None for global) -> command ID -> object.
        self.commands: dict[int | None, dict[int, JSON]] = {}
        # Integrations overrides: (guild ID, command ID or the application ID for all) -> list.
        self.command_permissions: dict[tuple[int, int], list[CommandPermission]] = {}
        self.interactions: dict[int, InteractionHandle] = {}
        self.interactions_by_token: dict[str, InteractionHandle] = {}
        self.cdn_base = "http://127.0.0.1"
        self.keep_attachment_data = True
        self.dms_closed: set[int] = set()  # users who take no DM from the bot (403 / 50007)
        self.cdn_delay = 0.0  # seconds the CDN takes before answering (a slow download)
        self.cdn_reads = 0  # attachment downloads started
        self.callback_answer_delay = 0.0  # seconds an acted-on interaction callback waits to answer
        self.bot_user: User = self.create_user("bot", bot=True)
        self.application_id = self.bot_user.id
        self.app_owner: User | None = None

    # ----------------------------------------------------------------- objects
    def create_user(
        self,
        username: str,
        *,
        global_name: str | None = None,
        bot: bool = False,
        locale: str = "en-US",
    ) -> User:
        """A new user (not yet in any guild) whose client speaks ``locale``."""
        if locale not in LOCALES:
            raise ValueError(f"{locale!r} is not a Discord locale; one of {sorted(LOCALES)}")
        user = User(
            id=self.ids.next(), username=username, global_name=global_name, bot=bot, locale=locale
        )
        self.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str,
        owner: User,
        *,
        premium_tier: int = 0,
        preferred_locale: str = "en-US",
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild with its @everyone role, owned by ``owner`` (who becomes a member).

        ``shard`` (``(shard_id, num_shards)``) picks an ID that Discord would route there.
        """
        if preferred_locale not in LOCALES:
            raise ValueError(f"{preferred_locale!r} is not a Discord locale")
        gid = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
        guild = Guild(
            id=gid,
            name=name,
            owner_id=owner.id,
            premium_tier=premium_tier,
            joined_at=utcnow(),
            preferred_locale=preferred_locale,
        )
        guild.roles[gid] = Role(
            id=gid, guild_id=gid, name="@everyone", permissions=DEFAULT_EVERYONE
        )
        self.guilds[gid] = guild
        self.add_member(guild, owner)
        return guild

    def create_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int = 0,
        mentionable: bool = False,
        managed: bool = False,
        bot_id: int | None = None,
        color: int = 0,
    ) -> Role:
        """A role placed above the existing ones."""
        role = Role(
            id=self.ids.next(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            mentionable=mentionable,
            managed=managed,
            bot_id=bot_id,
            color=color,
        )
        guild.roles[role.id] = role
        return role

    def create_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: int = 0,
        nsfw: bool = False,
        topic: str | None = None,
        parent: Channel | None = None,
    ) -> Channel:
        """A guild channel at the end of the list."""
        channel = Channel(
            id=self.ids.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=len(guild.channels),
            nsfw=nsfw,
            topic=topic,
            parent_id=None if parent is None else parent.id,
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_member(
        self, guild: Guild, user: User, *, roles: Iterable[Role] = (), nick: str | None = None
    ) -> Member:
        """Join ``user`` to ``guild`` (idempotent: returns the existing member)."""
        existing = guild.members.get(user.id)
        if existing is not None:
            return existing
        member = Member(
            user=user, guild_id=guild.id, roles=[r.id for r in roles], nick=nick, joined_at=utcnow()
        )
        guild.members[user.id] = member
        return member

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with ``user`` (made on first use)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(id=self.ids.next(), type=DM_CHANNEL, name=None, recipient=user)
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    # ------------------------------------------------------------- permissions
    def permissions(self, channel: Channel, user_id: int) -> int:
        """Resolved permissions of ``user_id`` in ``channel`` (roles, then overwrites)."""
        if channel.guild_id is None:
            return DM_PERMISSIONS
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        base = self.guild_permissions(guild, member)
        if not channel.overwrites:  # most channels: no list or tuple to build
            return apply_overwrites(base, everyone=None, roles=(), member=None)
        everyone = channel.overwrites.get(guild.id)
        role_ows = [
            (ow.allow, ow.deny)
            for rid in member.roles
            if (ow := channel.overwrites.get(rid)) is not None and ow.type == 0
        ]
        mem = channel.overwrites.get(user_id)
        return apply_overwrites(
            base,
            everyone=None if everyone is None else (everyone.allow, everyone.deny),
            roles=role_ows,
            member=None if mem is None or mem.type != 1 else (mem.allow, mem.deny),
        )

    def bot_permissions(self, channel: Channel) -> int:
        """The bot's resolved permissions in ``channel``: what its requests are checked against."""
        return self.permissions(channel, self.bot_user.id)

    def guild_permissions(self, guild: Guild, member: Member) -> int:
        """Guild-level permissions of a member."""
        roles = guild.roles
        return base_permissions(
            is_owner=guild.owner_id == member.id,
            everyone=roles[guild.id].permissions,
            role_perms=[roles[r].permissions for r in member.roles if r in roles],
        )

    def set_overwrite(
        self, channel: Channel, target_id: int, target_type: int, allow: int, deny: int
    ) -> None:
        """Replace the overwrite for a role (type 0) or member (type 1); all-zero removes it."""
        if allow == 0 and deny == 0:
            channel.overwrites.pop(target_id, None)
        else:
            channel.overwrites[target_id] = Overwrite(target_id, target_type, allow, deny)

    # ------------------------------------------------------------- attachments
    def make_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> StoredAttachment:
        """Store an upload and give it a CDN-like URL on this server."""
        aid = self.ids.next()
        ctype = guess_content_type(filename, content_type)
        width, height = image_size(data, ctype)
        sig = secrets.token_hex(8)
        path = f"attachments/{channel_id}/{aid}/{quote(filename)}"
        url = f"{self.cdn_base}/{path}?ex=ffffffff&is=0&hm={sig}"
        att = StoredAttachment(
            id=aid,
            channel_id=channel_id,
            filename=filename,
            content_type=ctype,
            size=len(data),
            data=data if self.keep_attachment_data else b"",
            url=url,
            proxy_url=url.replace("/attachments/", "/media/attachments/", 1),
            width=width,
            height=height,
            description=description,
            ephemeral=ephemeral,
        )
        self.attachments[aid] = att
        return att

    def _attachments_for(
        self,
        channel_id: int,
        body: MessageBody,
        files: list[UploadedFile],
        existing: list[StoredAttachment] | None,
        size_limit: int,
    ) -> list[StoredAttachment] | None:
        """The attachment list after a create/edit; ``None`` means "unchanged".

        API v10: on edit the ``attachments`` array lists every file to keep plus the new ones
        (by upload index); without it the old files stay and new uploads are appended.
        """
        for f in files:
            if len(f.data) > size_limit:
                raise too_large()
        by_index = {f.index: f for f in files}
        described: dict[int, JSON] = {}
        keep: list[StoredAttachment] = []
        if body.attachments is not None:
            old = {a.id: a for a in existing or []}
            for i, entry in enumerate(body.attachments):
                raw_id = entry.get("id")
                try:
                    num = int(raw_id) if raw_id is not None else None
                except (TypeError, ValueError):
                    num = None
                if num is not None and num in old:
                    keep.append(old[num])
                elif num is not None and num in by_index:
                    described[num] = entry
                else:
                    raise form_error(
                        f"attachments.{i}.id", "ATTACHMENT_NOT_FOUND", "Unknown attachment"
                    )
        elif existing is not None:
            if not files:
                return None
            keep = list(existing)
        check_file_count(len(keep) + len(files))
        new = []
        for f in files:
            entry = described.get(f.index, {})
            filename = entry.get("filename") or f.filename
            desc = entry.get("description")
            new.append(
                self.make_attachment(
                    channel_id,
                    str(filename),
                    f.data,
                    f.content_type,
                    description=desc if isinstance(desc, str) else None,
                )
            )
        return keep + new

    # ---------------------------------------------------------------- messages
    def _mentions(
        self, channel: Channel, content: str, allowed: JSON | None, perms: Perms
    ) -> tuple[list[User], list[int], bool]:
        """Who a message pings, honouring ``allowed_mentions`` and MENTION_EVERYONE like Discord."""
        if not content or (
            "<@" not in content and "@everyone" not in content and "@here" not in content
        ):
            return [], [], False
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            allow_users: set[int] = set()
            allow_roles: set[int] = set()
        else:
            parse = {p for p in allowed.get("parse") or [] if isinstance(p, str)}
            allow_users = {int(u) for u in allowed.get("users") or []}
            allow_roles = {int(r) for r in allowed.get("roles") or []}
        users: list[User] = []
        for raw in _USER_MENTION.findall(content):
            uid = int(raw)
            user = self.users.get(uid)
            if user is not None and ("users" in parse or uid in allow_users) and user not in users:
                users.append(user)
        roles: list[int] = []
        everyone = False
        guild = self.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        if guild is not None:
            if callable(perms):
                perms = perms()
            can_all = bool(perms & _MENTION_EVERYONE)
            for raw in _ROLE_MENTION.findall(content):
                rid = int(raw)
                role = guild.roles.get(rid)
                if (
                    role is not None
                    and rid != guild.id
                    and ("roles" in parse or rid in allow_roles)
                    and (role.mentionable or can_all)
                    and rid not in roles
                ):
                    roles.append(rid)
            everyone = (
                ("@everyone" in content or "@here" in content) and "everyone" in parse and can_all
            )
        return users, roles, everyone

    def create_message(
        self,
        *,
        channel: Channel,
        author: User,
        body: MessageBody,
        files: list[UploadedFile],
        size_limit: int,
        at: float,
        perms: Perms,
        type: int = 0,
        extra_flags: int = 0,
        allow_flags: int = CREATE_FLAGS,
        webhook_id: int | None = None,
        interaction: InteractionHandle | None = None,
        interaction_metadata: InteractionMetadataPayload | None = None,
        message_reference: JSON | None = None,
        route: str | None = None,
        allow_empty: bool = False,
    ) -> StoredMessage:
        """Validate and store a new message (the caller has checked permissions)."""
        if not allow_empty:
            check_not_empty(body, len(files))
        attachments = self._attachments_for(channel.id, body, files, None, size_limit) or []
        content = body.content or ""
        users, roles, everyone = self._mentions(channel, content, body.allowed_mentions, perms)
        msg = StoredMessage(
            id=self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            created_at=utcnow(),
            content=content,
            embeds=_link_embed_attachments(body.embeds, attachments),
            components=body.components,
            attachments=attachments,
            flags=(body.flags & allow_flags) | extra_flags,
            type=type,
            tts=body.tts,
            mention_users=users,
            mention_user_ids=[u.id for u in users],
            mention_role_ids=roles,
            mention_everyone=everyone,
            allowed_mentions=body.allowed_mentions,
            webhook_id=webhook_id,
            application_id=None if webhook_id is None else self.application_id,
            interaction_metadata=interaction_metadata,
            interaction_id=None if interaction is None else interaction.id,
            message_reference=message_reference or body.message_reference,
            nonce=body.nonce,
        )
        self.messages[msg.id] = msg
        channel.message_ids.append(msg.id)
        channel.last_message_id = msg.id
        msg.versions.append(MessageVersion("create", at, msg.created_at, msg.payload(), route))
        return msg

    def edit_message(
        self,
        msg: StoredMessage,
        body: MessageBody,
        files: list[UploadedFile],
        *,
        size_limit: int,
        at: float,
        perms: Perms,
        route: str | None = None,
    ) -> None:
        """Apply a PATCH (content/embeds/components/attachments/flags) and record the version."""
        channel = self.channels[msg.channel_id]
        present = body.present
        attachments = self._attachments_for(channel.id, body, files, msg.attachments, size_limit)
        content = msg.content
        if "content" in present:
            content = body.content or ""
        embeds = msg.embeds
        if "embeds" in present:
            embeds = body.embeds
        components = msg.components
        if "components" in present:
            components = body.components
        new_attachments = msg.attachments if attachments is None else attachments
        if not (content or embeds or new_attachments or components):
            check_not_empty(body, 0)
        was_loading = msg.loading
        msg.content = content
        msg.attachments = new_attachments
        msg.embeds = _link_embed_attachments(embeds, new_attachments)
        msg.components = components
        if "flags" in present:
            msg.flags = (msg.flags & ~EDIT_FLAGS) | (body.flags & EDIT_FLAGS)
        msg.flags &= ~FLAG_LOADING
        if "allowed_mentions" in present:
            msg.allowed_mentions = body.allowed_mentions
        if "content" in present or "allowed_mentions" in present:
            users, roles, everyone = self._mentions(channel, content, msg.allowed_mentions, perms)
            msg.mention_users = users
            msg.mention_user_ids = [u.id for u in users]
            msg.mention_role_ids = roles
            msg.mention_everyone = everyone
        now = utcnow()
        if not was_loading:
            msg.edited_at = now
        msg.touch()
        msg.versions.append(MessageVersion("edit", at, now, msg.payload(), route))

    def delete_message(self, msg: StoredMessage, *, at: float, route: str | None = None) -> None:
        """Mark deleted (history keeps it for the tests)."""
        msg.deleted = True
        msg.versions.append(MessageVersion("delete", at, utcnow(), msg.payload(), route))

    def visible_message(self, channel_id: int, message_id: int) -> StoredMessage | None:
        """A live, non-ephemeral message in that channel (what channel endpoints can reach)."""
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted or msg.ephemeral or msg.channel_id != channel_id:
            return None
        return msg

    def gateway_message(self, msg: StoredMessage) -> MessagePayload:
        """MESSAGE_CREATE/UPDATE data: the message plus the author's partial ``member``."""
        payload = msg.payload()
        if msg.guild_id is None:
            return payload
        member = self.guilds[msg.guild_id].members.get(msg.author.id)
        if member is None:
            return payload
        out = payload.copy()
        out["member"] = member.payload(with_user=False)
        return out

    # ---------------------------------------------------------------- commands
    def overwrite_commands(self, scope: int | None, commands: list[Any]) -> list[JSON]:
        """Bulk overwrite; existing (type, name) pairs keep their IDs, as Discord does."""
        if not isinstance(commands, list):
            raise form_error("", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        for i, cmd in enumerate(commands):
            check_command(cmd, i)
        old = {
            (int(c.get("type") or 1), c["name"]): c for c in self.commands.get(scope, {}).values()
        }
        seen: set[tuple[int, str]] = set()
        stored: dict[int, JSON] = {}
        for i, cmd in enumerate(commands):
            key = (int(cmd.get("type") or 1), cmd["name"])
            if key in seen:
                raise form_error(
                    f"{i}.name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add(key)
            prev = old.get(key)
            cid = int(prev["id"]) if prev is not None else self.ids.next()
            obj = self._command_object(cmd, cid, scope, version=self.ids.next())
            stored[cid] = obj
        self.commands[scope] = stored
        return list(stored.values())

    def upsert_command(self, scope: int | None, cmd: Any) -> JSON:
        """``POST`` of one command: replaces the one with the same (type, name)."""
        check_command(cmd, 0)
        bucket = self.commands.setdefault(scope, {})
        key = (int(cmd.get("type") or 1), cmd["name"])
        for existing in bucket.values():
            if (int(existing.get("type") or 1), existing["name"]) == key:
                cid = int(existing["id"])
                break
        else:
            cid = self.ids.next()
        obj = self._command_object(cmd, cid, scope, version=self.ids.next())
        bucket[cid] = obj
        return obj

    def command(self, scope: int | None, command_id: int) -> JSON:
        """One stored command or 404/10063."""
        cmd = self.commands.get(scope, {}).get(command_id)
        if cmd is None:
            raise DiscordError(404, UNKNOWN_APPLICATION_COMMAND, "Unknown application command")
        return cmd

    def find_command(self, guild_id: int | None, name: str, type: int) -> JSON | None:
        """What a client would invoke: a guild command first, then the global one."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self.commands.get(scope, {}).values():
                if cmd["name"] == name and int(cmd.get("type") or 1) == type:
                    return cmd
        return None

    def _command_object(self, cmd: JSON, cid: int, scope: int | None, *, version: int) -> JSON:
        obj: JSON = {
            "id": str(cid),
            "application_id": str(self.application_id),
            "version": str(version),
            "type": int(cmd.get("type") or 1),
            "name": cmd["name"],
            "description": cmd.get("description", ""),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "dm_permission": cmd.get("dm_permission", True),
            "nsfw": bool(cmd.get("nsfw", False)),
            "integration_types": cmd.get("integration_types") or [0],
            "contexts": cmd.get("contexts"),
            "name_localizations": cmd.get("name_localizations"),
            "description_localizations": cmd.get("description_localizations"),
        }
        if cmd.get("options"):
            obj["options"] = cmd["options"]
        if scope is not None:
            obj["guild_id"] = str(scope)
        return obj


def _link_embed_attachments(embeds: list[JSON], attachments: list[StoredAttachment]) -> list[JSON]:
    """Rewrite ``attachment://name`` image/thumbnail URLs to the uploaded file, as Discord does."""
    if not embeds or not attachments:
        return embeds
    by_name = {a.filename: a for a in attachments}
    out: list[JSON] = []
    changed = False
    for embed in embeds:
        new = embed
        for key in ("image", "thumbnail"):
            media = embed.get(key)
            if isinstance(media, dict):
                url = media.get("url")
                if isinstance(url, str) and url.startswith("attachment://"):
                    att = by_name.get(url[len("attachment://") :])
                    if att is not None:
                        if new is embed:
                            new = dict(embed)
                        new[key] = {
                            "url": att.url,
                            "proxy_url": att.proxy_url,
                            "width": att.width,
                            "height": att.height,
                        }
                        changed = True
        out.append(new)
    return out if changed else embeds
