"""The one Discord message a job keeps up to date, from "thinking…" to the finished images.

Progress edits are throttled (at most one per interval, and only when the embed changed); the
final edit goes out at once. While the interaction token is alive (15 minutes) edits go through
the interaction webhook; after that, through the channel with the bot token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import discord

log = logging.getLogger(__name__)

TOKEN_SAFETY_MARGIN = timedelta(seconds=60)
NO_MENTIONS = discord.AllowedMentions.none()


class JobMessage:
    """Edits one interaction's original response with throttling and a channel fallback."""

    def __init__(
        self,
        interaction: discord.Interaction[Any],
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interaction = interaction
        self._interval = interval
        self._clock = clock
        self._last_edit_at = float("-inf")
        self._last_sent: dict[str, Any] | None = None
        self._pending: discord.Embed | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.message_id: int | None = None
        self.edits = 0

    def remember_message(self, message_id: int | None) -> None:
        """Keep the response message's id for edits after the token dies."""
        self.message_id = message_id

    async def progress(self, embed: discord.Embed) -> None:
        """Show a progress embed: now if the interval has passed, else at the next slot."""
        if embed.to_dict() == self._last_sent:
            self._pending = None
            return
        wait = self._last_edit_at + self._interval - self._clock()
        if wait <= 0 and self._flusher is None:
            await self._send(embed)
            return
        self._pending = embed
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_after(max(wait, 0.0)))

    async def finish(
        self,
        embed: discord.Embed,
        *,
        files: Sequence[discord.File] = (),
        view: discord.ui.View | None = None,
    ) -> None:
        """Replace the progress with the final embed (and files), without waiting for a slot."""
        self._cancel_flush()
        await self._send(embed, files=files, view=view)

    def _cancel_flush(self) -> None:
        self._pending = None
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flusher = None
        embed, self._pending = self._pending, None
        if embed is not None and embed.to_dict() != self._last_sent:
            try:
                await self._send(embed)
            except discord.HTTPException:
                log.warning("progress edit failed for interaction %s", self._interaction.id)

    def _token_alive(self) -> bool:
        return datetime.now(UTC) + TOKEN_SAFETY_MARGIN < self._interaction.expires_at

    async def _send(
        self,
        embed: discord.Embed,
        *,
        files: Sequence[discord.File] = (),
        view: discord.ui.View | None = None,
    ) -> None:
        async with self._lock:
            kwargs: dict[str, Any] = {"embed": embed, "allowed_mentions": NO_MENTIONS}
            if files:
                kwargs["attachments"] = list(files)
            if view is not None:
                kwargs["view"] = view
            if self._token_alive():
                await self._interaction.edit_original_response(**kwargs)
            else:
                await self._send_through_channel(kwargs)
            self._last_edit_at = self._clock()
            self._last_sent = embed.to_dict()  # type: ignore[assignment]
            self.edits += 1

    async def _send_through_channel(self, kwargs: dict[str, Any]) -> None:
        """After the token's 15 minutes: edit the message with the bot token, or post anew."""
        channel_id = self._interaction.channel_id
        if channel_id is None:
            raise RuntimeError("interaction token expired and the interaction has no channel")
        channel = self._interaction.client.get_partial_messageable(channel_id)
        if self.message_id is not None:
            await channel.get_partial_message(self.message_id).edit(**kwargs)
            return
        files = kwargs.pop("attachments", None)
        if files:
            kwargs["files"] = files
        message = await channel.send(**kwargs)
        self.message_id = message.id
