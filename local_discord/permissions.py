"""Discord permission bits and the channel-permission algorithm (roles, then overwrites)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


class Permission(enum.IntFlag):
    """Permission bits as Discord numbers them."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50

    @classmethod
    def all(cls) -> Permission:
        """Every bit this fake knows (what ADMINISTRATOR and the owner get)."""
        value = cls(0)
        for member in cls:
            value |= member
        return value

    @classmethod
    def of(cls, *names: str) -> Permission:
        """Build from snake_case names, e.g. ``Permission.of("send_messages", "attach_files")``."""
        value = cls(0)
        for name in names:
            value |= cls[name.upper()]
        return value


PermissionLike = Permission | int | str | Iterable[str]


def to_bits(value: PermissionLike) -> int:
    """Accept a Permission, raw int, one snake_case name, or an iterable of names."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return int(Permission.of(value))
    return int(Permission.of(*value))


# What a new server's @everyone role gets (close to Discord's default set).
DEFAULT_EVERYONE = int(
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.STREAM
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.SEND_TTS_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.MENTION_EVERYONE
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.USE_VAD
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.REQUEST_TO_SPEAK
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.CREATE_PRIVATE_THREADS
    | Permission.USE_EXTERNAL_STICKERS
    | Permission.SEND_MESSAGES_IN_THREADS
    | Permission.USE_EMBEDDED_ACTIVITIES
    | Permission.USE_SOUNDBOARD
    | Permission.USE_EXTERNAL_SOUNDS
    | Permission.SEND_VOICE_MESSAGES
    | Permission.SEND_POLLS
    | Permission.USE_EXTERNAL_APPS
)

# Everyone in a DM, the bot included, may do this (there are no roles or overwrites there).
DM_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
)

# What the bot's managed role gets when "invited" (the usual image-bot invite scopes).
DEFAULT_BOT_ROLE = DM_PERMISSIONS | int(Permission.USE_EXTERNAL_EMOJIS)

ALL = int(Permission.all())

_TEXT_DEPENDENT = int(
    Permission.SEND_TTS_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.MENTION_EVERYONE
    | Permission.SEND_POLLS
    | Permission.SEND_VOICE_MESSAGES
)


# Plain ints for the hot paths: ``int & Permission.X`` goes through enum.Flag's Python-level
# ``__rand__`` (IntFlag is an int subclass) and builds a Permission every time.
_ADMINISTRATOR = int(Permission.ADMINISTRATOR)
_VIEW_CHANNEL = int(Permission.VIEW_CHANNEL)
_SEND_MESSAGES = int(Permission.SEND_MESSAGES)


def base_permissions(*, is_owner: bool, everyone: int, role_perms: Iterable[int]) -> int:
    """Guild-level permissions: @everyone OR every role; owner and ADMINISTRATOR get all."""
    if is_owner:
        return ALL
    perms = everyone
    for value in role_perms:
        perms |= value
    if perms & _ADMINISTRATOR:
        return ALL
    return perms


def apply_overwrites(
    base: int,
    *,
    everyone: tuple[int, int] | None,
    roles: Iterable[tuple[int, int]],
    member: tuple[int, int] | None,
) -> int:
    """Discord's order: @everyone overwrite, then all role overwrites together, then the member's.

    Each overwrite is ``(allow, deny)``. Without VIEW_CHANNEL nothing else applies, and without
    SEND_MESSAGES the send-dependent bits are dropped too (Discord's implicit permissions).
    """
    if base & _ADMINISTRATOR or base == ALL:
        return ALL
    perms = base
    if everyone is not None:
        perms = (perms & ~everyone[1]) | everyone[0]
    allow = deny = 0
    for r_allow, r_deny in roles:
        allow |= r_allow
        deny |= r_deny
    perms = (perms & ~deny) | allow
    if member is not None:
        perms = (perms & ~member[1]) | member[0]
    if not perms & _VIEW_CHANNEL:
        return 0
    if not perms & _SEND_MESSAGES:
        perms &= ~_TEXT_DEPENDENT
    return perms
