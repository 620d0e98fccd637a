"""The playground's server: three members to act as, and channels that show what Easel does.

``#general`` for everyone, ``#after-dark`` marked NSFW, and ``#mod-log``, which only admins (and
Easel) can see and which Easel is told to use as its moderation log once it is connected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.playground.ports import LocalDiscordPort
from bot.playground.room import Persona

log = logging.getLogger(__name__)

SERVER_NAME = "Easel Playground"


@dataclass(frozen=True, slots=True)
class Server:
    """A local Discord with the playground's members and channels, not yet started."""

    ld: LocalDiscordPort
    personas: list[Persona]
    admin: Persona
    general_id: int
    nsfw_id: int
    modlog_id: int


async def new_server() -> Server:
    """A local Discord (imported here, on the playground's path only) set up for the page."""
    from local_discord import LocalDiscord, Permission

    ld = LocalDiscord(bot_name="Easel")
    ld.guild.name = SERVER_NAME
    ld.general.topic = "Say hello, or type / to see Easel's commands."
    admins = await ld.create_role(
        "Admins", permissions=Permission.MANAGE_GUILD | Permission.MANAGE_MESSAGES
    )
    ld.alice.global_name = "Alice"
    bob = ld.create_user("bob", global_name="Bob")
    sam = ld.create_user("sam", global_name="Sam")
    await ld.add_member(bob)
    await ld.add_member(sam, roles=[admins])
    nsfw = await ld.create_channel(
        "after-dark", nsfw=True, topic="Age-restricted: for servers that allow NSFW prompts here."
    )
    modlog = await ld.create_channel(
        "mod-log", topic="Easel's moderation log: every job, refusal and settings change."
    )
    await ld.set_overwrite(modlog, "@everyone", deny="view_channel")
    await ld.set_overwrite(modlog, admins, allow="view_channel")
    await ld.set_overwrite(modlog, ld.bot_role, allow=["view_channel", "send_messages"])
    personas = [
        Persona(ld.alice.id, "alice", "Alice", "member"),
        Persona(bob.id, "bob", "Bob", "a second member"),
        Persona(sam.id, "sam", "Sam", "admin: Manage Server", admin=True),
    ]
    return Server(ld, personas, personas[2], ld.general.id, nsfw.id, modlog.id)
