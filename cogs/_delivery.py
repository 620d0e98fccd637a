"""Renders every Discord job's events into its message: the engine's observer for Discord.

It works from the persisted job alone (channel, message id, interaction token while it lives,
the requester's language), so jobs resumed after a restart are rendered exactly like fresh ones.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.client import NO_MENTIONS
from bot.i18n import Lang, Text, _, markup
from bot.jobs.fanout import UndeliverableError
from bot.jobs.models import JobCompleted, JobEvent, JobFailed, JobProgress
from bot.jobs.records import JobRecord
from bot.policy.defaults import applied_text
from cogs._buttons import progress_view, result_view, retry_view, upscale_possible
from cogs._i18n import lang_for_job
from cogs._job_message import JobMessage, original_response
from cogs._render import failure_embed, progress_embed, result_embed

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

# Failures where running the same request again may well work: a Retry button is offered.
RETRYABLE = frozenset({"interrupted", "upstream", "timeout"})


class DiscordDelivery:
    """Keeps each job's message current and posts its outcome; never drops a result silently."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot
        self._messages: dict[str, JobMessage] = {}
        self._previews: dict[str, str] = {}  # job id → the preview attachment it shows

    def _message(self, job: JobRecord) -> JobMessage:
        message = self._messages.get(job.id)
        if message is None:
            message = JobMessage(
                self.bot,
                channel_id=job.channel_id,
                user_id=job.user_id,
                delivery=job.delivery,
                interval=self.bot.settings.progress_edit_interval,
                tr=lang_for_job(self.bot, job.guild_id, job.locale),
            )
            self._messages[job.id] = message
        return message

    async def on_event(self, job: JobRecord, event: JobEvent) -> None:
        """Render one event; final events raise if the member could not be told at all."""
        message = self._message(job)
        resolved = job.resolved()
        label = self.bot.engine.label_for(job)  # the provider that took the job
        tr = lang_for_job(self.bot, job.guild_id, job.locale)  # the requester's language
        defaults = applied_text(job.defaults, tr)  # which options came from defaults, and where
        private_failure = isinstance(event, JobFailed) and event.failure == "input"
        if not private_failure:
            await self._go_public(job, message, label, defaults, tr)
        if isinstance(event, JobCompleted):
            embed = result_embed(
                resolved,
                event.images,
                requester=f"<@{job.user_id}>",
                elapsed=event.elapsed,
                label=label,
                defaults=defaults,
                missing=event.missing,
                shortfall=event.shortfall(),
                tr=tr,
            )
            view = result_view(job, tr, upscale_possible=upscale_possible(job, self.bot))
            await self._final(job, message, embed, event, view)
        elif isinstance(event, JobFailed):
            if private_failure and await self._told_privately(job, message, tr(event.reason)):
                return
            retry = retry_view(job, tr) if event.failure in RETRYABLE else None
            embed = failure_embed(resolved, event, label=label, tr=tr)
            await self._final(job, message, embed, None, retry)
        else:
            files: list[tuple[str, bytes]] = []
            if isinstance(event, JobProgress) and event.preview is not None:
                # A new name per frame: Discord caches attachments by name, and the embed
                # must change for the throttled edit to go out.
                name = f"preview_{(event.preview_index or 0) + 1}.jpg"
                self._previews[job.id] = name
                files.append((name, event.preview))
            preview = self._previews.get(job.id)

            def render() -> tuple[discord.Embed, discord.ui.View | None]:
                embed = progress_embed(
                    resolved,
                    event,
                    started_at=int(job.created_at),
                    label=label,
                    tr=tr,
                    preview=preview,
                    defaults=defaults,
                )
                return embed, progress_view(job, tr)

            message.progress(render, files=files)

    async def _final(
        self,
        job: JobRecord,
        message: JobMessage,
        embed: discord.Embed,
        completed: JobCompleted | None,
        view: discord.ui.View | None,
    ) -> None:
        spoiler = self.bot.policy.spoilers(job.guild_id)  # a server setting (/easel output)

        def files() -> list[discord.File]:
            if completed is None:
                return []
            return [
                discord.File(io.BytesIO(image.data), filename=image.filename, spoiler=spoiler)
                for image in completed.images
            ]

        try:
            try:
                await message.finish(embed, files=files(), view=view)
            except (discord.Forbidden, discord.NotFound) as exc:
                # No permission in the channel (50013/50001), or the channel is gone (10003).
                log.warning(
                    "job %s: cannot post in channel %s (%s); sending a DM",
                    job.id,
                    job.channel_id,
                    exc.text or exc.status,
                )
                await self._direct_message(job, embed, files(), channel_problem=exc)
        except discord.HTTPException as exc:
            raise UndeliverableError(f"Discord answered {exc.status}: {exc.text}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise UndeliverableError(f"Discord could not be reached ({exc!r})") from exc
        finally:
            self._messages.pop(job.id, None)
            self._previews.pop(job.id, None)
            if message.delivery != job.delivery:  # a re-posted message, a token found dead
                job.delivery = message.delivery
                await self.bot.engine.save(job)

    async def _go_public(
        self, job: JobRecord, message: JobMessage, label: Text, defaults: str | None, tr: Lang
    ) -> None:
        """A job acknowledged privately whose images passed: its public message comes now.

        The private "thinking…" goes and a public follow-up takes its place (the first
        follow-up would otherwise replace it and stay private). Without a live token the job
        message is posted in the channel when there is something to show.
        """
        delivery = message.delivery
        token = message.live_token()
        if delivery is None or not delivery.acknowledged_privately or delivery.message_id:
            return
        if token is None:
            return
        webhook = self._interaction_webhook(delivery.application_id, token)
        with contextlib.suppress(discord.HTTPException):
            await original_response(self.bot, delivery.application_id, token, delete=True)
        starting = progress_embed(
            job.resolved(),
            None,
            started_at=int(job.created_at),
            label=label,
            tr=tr,
            defaults=defaults,
        )
        try:
            sent = await webhook.send(embed=starting, wait=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.info("job %s: could not post its public message; the channel gets it", job.id)
            return
        message.delivery = delivery.model_copy(update={"message_id": sent.id})
        job.delivery = message.delivery
        await self.bot.engine.save(job)

    def _interaction_webhook(self, application_id: int, token: str) -> discord.Webhook:
        """The interaction's own webhook (the one follow-ups and private answers use)."""
        return discord.Webhook.from_state(
            data={"id": application_id, "type": 3, "token": token}, state=self.bot._connection
        )

    async def _told_privately(self, job: JobRecord, message: JobMessage, reason: str) -> bool:
        """Tell an input problem only to the member: the public "thinking…" goes, a private
        note says what to change. False when the interaction token is gone (then it is said in
        the job's message like any failure)."""
        token = message.live_token()
        if token is None or job.delivery is None:
            return False
        message.close()
        webhook = self._interaction_webhook(job.delivery.application_id, token)
        try:
            with contextlib.suppress(discord.NotFound):  # never posted, or already deleted
                if message.message_id is not None:
                    await webhook.delete_message(message.message_id)
                else:
                    await original_response(
                        self.bot, job.delivery.application_id, token, delete=True
                    )
            await webhook.send(f"⚠️ {reason}", ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.info("job %s: could not answer privately; saying it in the message", job.id)
            return False
        finally:
            self._messages.pop(job.id, None)
        return True

    async def _direct_message(
        self,
        job: JobRecord,
        embed: discord.Embed,
        files: list[discord.File],
        *,
        channel_problem: discord.HTTPException,
    ) -> None:
        """Last resort when the channel refuses us (50013) or is gone: tell the member privately.

        When that fails too (the member's DMs are closed), UndeliverableError says both.
        """
        where = f"<#{job.channel_id}>" if job.channel_id else "the channel"
        channel_said = channel_problem.text or f"HTTP {channel_problem.status}"
        if job.user_id is None:
            raise UndeliverableError(f"cannot post in {where} ({channel_said}), no member to DM")
        tr = lang_for_job(self.bot, job.guild_id, job.locale)
        content = (
            _(
                "I could not post your job's result in {channel} (missing permissions); "
                "here it is.",
                channel=markup.channel(job.channel_id),
            )
            if job.channel_id
            else _("I could not post your job's result (missing permissions); here it is.")
        )
        try:
            user = self.bot.get_user(job.user_id) or await self.bot.fetch_user(job.user_id)
            await user.send(
                content=tr(content), embed=embed, files=files, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            raise UndeliverableError(
                f"cannot post in {where} ({channel_said}) nor send the member a direct message "
                f"({exc.text or f'HTTP {exc.status}'})"
            ) from exc
