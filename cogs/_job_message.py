"""The one Discord message a job keeps up to date, from "thinking…" to the finished images.

Progress edits are throttled (at most one per interval, and only when the embed changed) and
never block the job; the final edit goes out at once. While the interaction token lives
(15 minutes) edits go through the interaction webhook; after that through the channel with the
bot token. A deleted message is replaced by a new one in the channel, so the member is never
left without an answer.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import discord

from bot.client import NO_MENTIONS
from bot.i18n import Lang, _, markup
from bot.jobs.records import Delivery

log = logging.getLogger(__name__)

TOKEN_SAFETY_MARGIN = 60.0  # seconds: stop using the token a minute before Discord kills it
INVALID_WEBHOOK_TOKEN = 50027


async def original_response(
    client: discord.Client, application_id: int, token: str, *, delete: bool = False
) -> int | None:
    """The id of an interaction's original response (None after ``delete``), by token alone.

    Uses discord.py's own ``@original`` routes, as ``Interaction.original_response`` and
    ``delete_original_response`` do, for a job that only has its stored token.
    """
    webhook = discord.Webhook.partial(application_id, token, client=client)
    adapter = discord.webhook.async_.async_context.get()
    route = (
        adapter.delete_original_interaction_response
        if delete
        else adapter.get_original_interaction_response
    )
    answer = await route(
        application_id,
        token,
        session=webhook.session,
        proxy=webhook.proxy,
        proxy_auth=webhook.proxy_auth,
    )
    return None if delete or not answer else int(answer["id"])


class JobMessage:
    """Edits one job's message with throttling, a channel fallback and a re-post fallback."""

    def __init__(
        self,
        client: discord.Client,
        *,
        channel_id: int | None,
        user_id: int | None,
        delivery: Delivery | None,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        tr: Lang | None = None,
    ) -> None:
        self._client = client
        self._tr = tr or Lang.of(None)  # the requester's language, for a re-posted message
        self.channel_id = channel_id
        self.user_id = user_id
        self.delivery = delivery
        self._interval = interval
        self._clock = clock
        self._last_edit_at = float("-inf")
        self._last_sent: dict[str, Any] | None = None
        self._pending: Callable[[], tuple[discord.Embed, discord.ui.View | None]] | None = None
        # Attachments of progress edits not sent yet (a preview): kept until an edit carries
        # them, so a newer embed that still shows the preview never points at a missing file.
        self._pending_files: list[tuple[str, bytes]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.edits = 0

    @property
    def message_id(self) -> int | None:
        """The message being edited (changes if the original was deleted and re-posted)."""
        return self.delivery.message_id if self.delivery else None

    def progress(
        self,
        render: Callable[[], tuple[discord.Embed, discord.ui.View | None]],
        *,
        files: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Schedule a progress edit: at the next free slot, showing the newest state by then.

        Never waits for Discord, so a slow or rate-limited edit cannot hold up the job, and
        ``render`` runs once per edit actually sent: a burst of events (queue positions moving)
        costs one render, not one per event. ``files`` (name, bytes) replace the message's
        attachments, e.g. a preview the embed shows as ``attachment://name``.
        """
        if files:
            self._pending_files = list(files)
        self._pending = render
        if self._flusher is None:
            wait = max(self._last_edit_at + self._interval - self._clock(), 0.0)
            self._flusher = asyncio.create_task(self._flush_after(wait))

    async def finish(
        self,
        embed: discord.Embed,
        *,
        files: Sequence[discord.File] = (),
        view: discord.ui.View | None = None,
    ) -> None:
        """Replace the progress with the final embed (and files), without waiting for a slot."""
        self.close()
        await self._send(embed, files=files, view=view, final=True)

    def close(self) -> None:
        """Drop any pending progress edit."""
        self._pending = None
        self._pending_files = []
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flusher = None
        render, self._pending = self._pending, None
        if render is None:
            return
        embed, view = render()
        if embed.to_dict() == self._last_sent and not self._pending_files:
            return
        try:
            await self._send(embed, view=view, files=self._take_files())
        except discord.HTTPException:
            log.warning("progress edit failed for message %s", self.message_id)

    def _take_files(self) -> list[discord.File]:
        files = [
            discord.File(io.BytesIO(data), filename=name) for name, data in self._pending_files
        ]
        self._pending_files = []
        return files

    def _token(self) -> str | None:
        delivery = self.delivery
        if delivery is None or delivery.interaction_token is None:
            return None
        if time.time() + TOKEN_SAFETY_MARGIN >= delivery.token_expires_at:
            return None
        return delivery.interaction_token.get_secret_value()

    async def _send(
        self,
        embed: discord.Embed,
        *,
        files: Sequence[discord.File] = (),
        view: discord.ui.View | None = None,
        final: bool = False,
    ) -> None:
        async with self._lock:
            kwargs: dict[str, Any] = {"embed": embed, "allowed_mentions": NO_MENTIONS}
            if files or final:
                kwargs["attachments"] = list(files)
            kwargs["view"] = view
            # The slot is used even if the edit fails: a failing edit is not retried at once.
            self._last_edit_at = self._clock()
            try:
                if self.message_id is None:
                    await self._find_original()
                if self.message_id is None:
                    raise LookupError("no message yet")
                await self._edit(self.message_id, kwargs)
            except (discord.NotFound, LookupError):
                # The message was deleted (10008) or the token is gone: post a new one.
                log.info("message %s is gone; posting a new one", self.message_id)
                for file in files:
                    file.reset()
                await self._post_new(kwargs)
            self._last_sent = embed.to_dict()  # type: ignore[assignment]
            self.edits += 1

    def live_token(self) -> str | None:
        """The interaction token while Discord still takes it (a minute of margin)."""
        return self._token()

    async def _find_original(self) -> None:
        """Learn the response message's id from the interaction, if the defer reached Discord.

        A job recorded while its interaction was being acknowledged may have been resumed
        without it (the process died before the answer came back).
        """
        token = self._token()
        if token is None or self.delivery is None or self.delivery.acknowledged_privately:
            return  # a private "thinking…" is never the job's public message
        try:
            found = await original_response(self._client, self.delivery.application_id, token)
        except discord.HTTPException:
            log.info("the interaction has no response message; posting a new one")
            return
        self.delivery = self.delivery.model_copy(update={"message_id": found})

    async def _edit(self, message_id: int, kwargs: dict[str, Any]) -> None:
        token = self._token()
        if token is not None and self.delivery is not None:
            webhook = discord.Webhook.partial(
                self.delivery.application_id, token, client=self._client
            )
            try:
                await webhook.edit_message(message_id, **kwargs)
                return
            except discord.HTTPException as exc:
                if exc.code != INVALID_WEBHOOK_TOKEN:
                    raise
                # Discord's clock says the token is dead even if ours did not: use the channel.
                log.info("interaction token expired early; editing through the channel")
                self.delivery = self.delivery.model_copy(update={"interaction_token": None})
                for file in kwargs.get("attachments") or ():
                    file.reset()
        channel = self._channel()
        await channel.get_partial_message(message_id).edit(**kwargs)

    async def _post_new(self, kwargs: dict[str, Any]) -> None:
        files = kwargs.pop("attachments", None)
        if files:
            kwargs["files"] = files
        if kwargs.get("view") is None:
            kwargs.pop("view", None)
        content = (
            _("{requester} your job:", requester=markup.user(self.user_id))
            if self.user_id
            else _("Your job:")
        )
        message = await self._channel().send(content=self._tr(content), **kwargs)
        if self.delivery is not None:
            self.delivery = self.delivery.model_copy(update={"message_id": message.id})

    def _channel(self) -> discord.PartialMessageable:
        if self.channel_id is None:
            raise RuntimeError("the job has no channel to post in")
        return self._client.get_partial_messageable(self.channel_id)
