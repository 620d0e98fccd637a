"""A local Discord: REST, gateway and CDN on 127.0.0.1 for running an unmodified discord.py bot.

Used by the end-to-end tests and the load benchmark. It never imports discord: it is a fake of the
service, written from Discord's documented behaviour and what discord.py 2.7 reads.

Typical use (the bot may run in-process or as a subprocess)::

    async with LocalDiscord() as ld:                  # guild "Test Server", #general, alice
        start_bot(api_base=ld.api_base, gateway_url=ld.gateway_url, token=ld.bot_token)
        await ld.wait_until_connected()
        await ld.wait_for(lambda s: bool(s.synced_commands))        # or ld.register_commands()
        h = await ld.send_slash_command(
            "alice", "#general", "imagine", {"prompt": "a fox"},
            attachments=[("ref.png", png_bytes, "image/png")], attachment_size_limit=8 << 20,
        )
        assert (await h.wait_for_callback()).type == 5               # deferred within 3 s
        final = await h.wait_for_original(lambda m: m.attachments, timeout=30)
        ld.clock.advance(15 * 60)                                    # interaction token now dead
        await ld.deny("#general", "send_messages")                   # bot-token sends get 50013
        ld.limits.message_edit = RateLimitRule(5, 5.0, headers=False)  # 429s the bot must absorb

Everything Discord saw is kept: ``ld.requests`` (every HTTP call), ``ld.messages`` (each with
``versions``), ``ld.interactions`` (handles with callbacks, original, follow-ups),
``ld.synced_commands`` and ``ld.rate_limit_hits``; ``ld.feed`` streams the same as it happens.
What one member's client would show is asked with ``ld.visible_channels``, ``visible_messages``
and ``usable_commands`` (Integrations overrides: ``ld.set_command_permission``).
"""

from __future__ import annotations

import logging

from local_discord.clock import Clock
from local_discord.errors import DiscordError
from local_discord.feed import (
    CommandsChanged,
    Feed,
    FeedEvent,
    InteractionAnswered,
    InteractionDispatched,
    MessageChanged,
    RequestHandled,
)
from local_discord.gateway import NoBotConnected, zstd_available
from local_discord.interactions import CallbackRecord, FileSummary, InteractionHandle
from local_discord.models import (
    Channel,
    CommandPermission,
    Guild,
    Member,
    MessageVersion,
    Role,
    StoredAttachment,
    StoredMessage,
    User,
)
from local_discord.permissions import Permission
from local_discord.ratelimit import Limits, RateLimitRule
from local_discord.rest.http import RequestRecord
from local_discord.server import LocalDiscord, Upload
from local_discord.state import UploadedFile

log = logging.getLogger(__name__)

__all__ = [
    "CallbackRecord",
    "Channel",
    "Clock",
    "CommandPermission",
    "CommandsChanged",
    "DiscordError",
    "Feed",
    "FeedEvent",
    "FileSummary",
    "Guild",
    "InteractionAnswered",
    "InteractionDispatched",
    "InteractionHandle",
    "Limits",
    "LocalDiscord",
    "Member",
    "MessageChanged",
    "MessageVersion",
    "NoBotConnected",
    "Permission",
    "RateLimitRule",
    "RequestHandled",
    "RequestRecord",
    "Role",
    "StoredAttachment",
    "StoredMessage",
    "Upload",
    "UploadedFile",
    "User",
    "zstd_available",
]
