"""What one user's Discord client shows: the channels they can open, the messages they see there
(their own ephemeral answers, nobody else's) and the commands their command picker lists.

The driver methods act like a client with every command at hand (tests send what a modified client
could); a watcher that draws the server for one member, like the playground's page, asks here what
the real client would offer that member instead.
"""

from __future__ import annotations

import logging

from local_discord.models import (
    COMMAND_PERMISSION_CHANNEL,
    COMMAND_PERMISSION_ROLE,
    COMMAND_PERMISSION_USER,
    DM_CHANNEL,
    Channel,
    CommandPermission,
    Guild,
    StoredMessage,
)
from local_discord.payloads import JSON
from local_discord.permissions import ALL, Permission
from local_discord.state import World

log = logging.getLogger(__name__)

#: Interaction context types (where a command may be used).
CONTEXT_GUILD, CONTEXT_BOT_DM, CONTEXT_PRIVATE_CHANNEL = 0, 1, 2


def ephemeral_viewer(world: World, msg: StoredMessage) -> int | None:
    """The one user who sees an ephemeral message (whoever ran its interaction), else ``None``."""
    if not msg.ephemeral or msg.interaction_id is None:
        return None
    handle = world.interactions.get(msg.interaction_id)
    return None if handle is None else handle.user.id


def can_see_channel(world: World, channel: Channel, user_id: int) -> bool:
    """Listed in the user's sidebar: a DM with them, or View Channel in the guild channel."""
    if channel.type == DM_CHANNEL:
        return channel.recipient is not None and channel.recipient.id == user_id
    return bool(world.permissions(channel, user_id) & Permission.VIEW_CHANNEL)


def can_see_message(world: World, msg: StoredMessage, user_id: int) -> bool:
    """A live message in a channel they can read; an ephemeral one only if it answered them."""
    if msg.deleted:
        return False
    channel = world.channels[msg.channel_id]
    if not can_see_channel(world, channel, user_id):
        return False
    if msg.ephemeral:
        return ephemeral_viewer(world, msg) == user_id
    if channel.type == DM_CHANNEL:
        return True
    return bool(world.permissions(channel, user_id) & Permission.READ_MESSAGE_HISTORY)


def visible_messages(world: World, channel: Channel, user_id: int) -> list[StoredMessage]:
    """The channel as the user's client shows it, oldest first."""
    messages = (world.messages[mid] for mid in channel.message_ids)
    return [msg for msg in messages if can_see_message(world, msg, user_id)]


def visible_channels(world: World, guild: Guild, user_id: int) -> list[Channel]:
    """The guild's channels in the user's sidebar, by position."""
    channels = sorted(guild.channels.values(), key=lambda c: (c.position, c.id))
    return [c for c in channels if can_see_channel(world, c, user_id)]


def command_permissions(world: World, guild_id: int, command_id: int) -> list[CommandPermission]:
    """The Integrations overrides of one command (the application's ID: of every command)."""
    return list(world.command_permissions.get((guild_id, command_id), []))


def _verdict(
    overrides: list[CommandPermission], guild: Guild, channel: Channel, user_id: int
) -> tuple[bool | None, bool | None]:
    """(channel verdict, member verdict) from one level of overrides; ``None``: not decided.

    Discord's order: this channel, else "all channels"; the member, else any of their roles
    (an allowed role wins over a denied one), else ``@everyone``.
    """
    by_target = {(o.type, o.id): o.permission for o in overrides}
    place = by_target.get((COMMAND_PERMISSION_CHANNEL, channel.id))
    if place is None and channel.parent_id is not None:
        place = by_target.get((COMMAND_PERMISSION_CHANNEL, channel.parent_id))
    if place is None:
        place = by_target.get((COMMAND_PERMISSION_CHANNEL, guild.id - 1))
    who = by_target.get((COMMAND_PERMISSION_USER, user_id))
    if who is None:
        member = guild.members.get(user_id)
        roles = [] if member is None else member.roles
        found = [
            by_target[(COMMAND_PERMISSION_ROLE, r)]
            for r in roles
            if (COMMAND_PERMISSION_ROLE, r) in by_target
        ]
        if found:
            who = any(found)
    if who is None:
        who = by_target.get((COMMAND_PERMISSION_ROLE, guild.id))
    return place, who


def can_use_command(world: World, command: JSON, channel: Channel, user_id: int) -> bool:
    """Whether the user's client offers ``command`` in ``channel``.

    Where it may run (guild or DM contexts, age-restricted commands only in NSFW channels), then
    the Integrations overrides (the command's own, then the application-wide ones) and without
    them ``default_member_permissions``. Administrators see every command of the guild.
    """
    contexts = command.get("contexts")
    if channel.guild_id is None:
        if contexts:
            return CONTEXT_BOT_DM in contexts
        return bool(command.get("dm_permission", True))
    if contexts and CONTEXT_GUILD not in contexts:
        return False
    if command.get("nsfw") and not channel.nsfw:
        return False
    guild = world.guilds[channel.guild_id]
    if user_id not in guild.members:
        return False
    perms = world.permissions(channel, user_id)
    if not perms & Permission.USE_APPLICATION_COMMANDS:
        return False
    if perms == ALL:
        return True
    place: bool | None = None
    who: bool | None = None
    for target in (int(command["id"]), world.application_id):
        level_place, level_who = _verdict(
            command_permissions(world, guild.id, target), guild, channel, user_id
        )
        place = level_place if place is None else place
        who = level_who if who is None else who
    if place is False:
        return False
    if who is not None:
        return who
    needed = command.get("default_member_permissions")
    if needed is None:
        return True
    bits = int(needed)
    return bits != 0 and perms & bits == bits


def usable_commands(
    world: World, channel: Channel, user_id: int, *, type: int | None = None
) -> list[JSON]:
    """The commands the user's picker (``type`` 1), or a message's Apps menu (3), lists here.

    A guild command shadows the global one of the same type and name, as in ``find_command``.
    """
    scopes: list[int | None] = [None] if channel.guild_id is None else [channel.guild_id, None]
    seen: set[tuple[int, str]] = set()
    out: list[JSON] = []
    for scope in scopes:
        for command in world.commands.get(scope, {}).values():
            key = (int(command.get("type") or 1), str(command["name"]))
            if key in seen or (type is not None and key[0] != type):
                continue
            seen.add(key)
            if can_use_command(world, command, channel, user_id):
                out.append(command)
    return sorted(out, key=lambda c: str(c["name"]))
