"""The playground's server: three members to act as, and channels that show what Easel does.

``#general`` for everyone, with a welcome and a picture to edit; ``#after-dark`` marked NSFW; and
``#mod-log``, which only admins (and Easel) can see and which Easel is told to use as its
moderation log once it is connected.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.i18n import _p
from bot.playground.ports import LocalDiscordPort
from bot.playground.room import Persona

log = logging.getLogger(__name__)

SERVER_NAME = "Easel Playground"
WELCOME = (
    "👋 Welcome to the **Easel playground**: the real Easel bot, in a local copy of Discord.\n"
    "• Type `/imagine` below (files can be dropped on the box), or open this picture's "
    "**Apps** menu (right-click) → **Edit image**.\n"
    "• Act as **Alice**, **Bob** or **Sam** (an admin) at the bottom left: Sam can use "
    "`/easel settings`, and <#{modlog}> shows what moderators see.\n"
    "-# The panel on the right lists every call Easel makes to Discord and to the image API."
)


@dataclass(frozen=True, slots=True)
class Server:
    """A local Discord with the playground's members and channels, not yet started."""

    ld: LocalDiscordPort
    personas: list[Persona]
    admin: Persona
    owner_id: int
    general_id: int
    nsfw_id: int
    modlog_id: int


async def new_server() -> Server:
    """A local Discord (imported here, on the playground's path only) set up for the page."""
    from local_discord import LocalDiscord, Permission

    ld = LocalDiscord(bot_name="Easel")
    ld.record_requests = False  # the page follows the feed; a long session keeps no request log
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
        Persona(ld.alice.id, "alice", "Alice", _p("playground", "member")),
        Persona(bob.id, "bob", "Bob", _p("playground", "a second member")),
        Persona(sam.id, "sam", "Sam", _p("playground", "admin: Manage Server"), admin=True),
    ]
    return Server(ld, personas, personas[2], ld.owner.id, ld.general.id, nsfw.id, modlog.id)


async def welcome(server: Server) -> None:
    """The owner's welcome in ``#general``, with a picture to try Edit image on (call once the
    local Discord is started: attachment URLs name its address)."""
    picture = await asyncio.to_thread(sample_picture)
    await server.ld.post_message(
        server.owner_id,
        server.general_id,
        WELCOME.format(modlog=server.modlog_id),
        attachments=[("harbour.png", picture, "image/png")],
    )


def sample_picture(width: int = 768, height: int = 512) -> bytes:
    """A small harbour at dusk (drawn, so the project ships no image files)."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = height * 3 // 5
    for y in range(horizon):
        t = y / horizon
        draw.line(
            [(0, y), (width, y)], fill=(int(40 + 200 * t), int(50 + 90 * t), int(120 + 40 * t))
        )
    for y in range(horizon, height):
        t = (y - horizon) / (height - horizon)
        draw.line(
            [(0, y), (width, y)], fill=(int(30 + 20 * t), int(60 + 30 * t), int(110 - 30 * t))
        )
    sun = (width * 2 // 3, horizon - 40)
    draw.ellipse([sun[0] - 48, sun[1] - 48, sun[0] + 48, sun[1] + 48], fill=(255, 196, 110))
    draw.polygon([(0, horizon), (180, horizon - 90), (360, horizon)], fill=(34, 40, 70))
    draw.rectangle([120, horizon - 150, 150, horizon], fill=(235, 235, 240))
    draw.polygon(
        [(110, horizon - 150), (160, horizon - 150), (135, horizon - 180)], fill=(200, 60, 60)
    )
    draw.polygon(
        [(430, horizon + 60), (560, horizon + 60), (540, horizon + 85), (450, horizon + 85)],
        fill=(120, 70, 40),
    )
    draw.polygon(
        [(495, horizon - 20), (495, horizon + 55), (545, horizon + 55)], fill=(240, 235, 220)
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
