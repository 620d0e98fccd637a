"""Private answers to a member, and the one translation of Easel's errors into them.

Commands, buttons, menus and modals let Easel's errors (``bot.errors``) propagate; discord.py
hands them to the tree's error hook (installed by ``cogs.errors``) or to a view's or modal's
``on_error``, and every one of those calls ``report_error``. A member's mistake or a refusal is
answered in plain words, in the member's language; anything else is a bug: logged once, answered
with a reference.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.client import NO_MENTIONS, Interaction
from bot.errors import EaselError, InternalError, RefusalError
from bot.i18n import Lang, Text, _
from cogs._i18n import lang_for

log = logging.getLogger(__name__)

PRIVATE_ACK = "easel_private_ack"  # in ``Interaction.extras``


class Refused(app_commands.CheckFailure):
    """A check said no (e.g. ``/easel`` without Manage Server); ``text`` says why."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def server_of(interaction: Interaction, outside: Text) -> int:
    """The server the interaction is in; in a DM, ``Refused(outside)`` (answered privately)."""
    if interaction.guild_id is None:
        raise Refused(outside)
    return interaction.guild_id


async def answer_privately(
    interaction: Interaction, text: str | None = None, *, embed: discord.Embed | None = None
) -> None:
    """Show ``text`` (or ``embed``) only to the member, whether or not the interaction was
    answered yet.

    After a public "thinking…" the thinking message is deleted first: the first follow-up would
    otherwise replace it and be shown to everyone.
    """
    shown = embed if embed is not None else discord.utils.MISSING
    if not interaction.response.is_done():
        await interaction.response.send_message(
            text, embed=shown, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("could not delete the original response", exc_info=True)
    await interaction.followup.send(
        text or discord.utils.MISSING, embed=shown, ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def defer_privately(interaction: Interaction) -> None:
    """Acknowledge with a private "thinking…", for work that may still refuse (reading the
    member's images, a stored job's files): a refusal then leaves nothing public behind.

    ``post_publicly`` turns it into the public answer once the work succeeded.
    """
    await interaction.response.defer(ephemeral=True, thinking=True)
    interaction.extras[PRIVATE_ACK] = True


def deferred_privately_at_gateway(interaction: Interaction) -> None:
    """Record what ``bot.early_ack`` already did: discord.py then follows up instead of
    answering a second time (it has no public way to adopt an acknowledgement it did not send)."""
    interaction.response._response_type = discord.InteractionResponseType.deferred_channel_message
    interaction.extras[PRIVATE_ACK] = True


def acknowledged_privately(interaction: Interaction) -> bool:
    """Whether ``defer_privately`` acknowledged this interaction."""
    return bool(interaction.extras.get(PRIVATE_ACK))


async def post_publicly(interaction: Interaction, **message: Any) -> discord.WebhookMessage:
    """The public answer after ``defer_privately``: the private "thinking…" goes, a new message
    comes (the first follow-up would otherwise replace it and stay private)."""
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("could not delete the private thinking message", exc_info=True)
    return await interaction.followup.send(wait=True, allowed_mentions=NO_MENTIONS, **message)


def member_message(error: BaseException, tr: Lang) -> str | None:
    """What to tell the member about ``error``, in ``tr``'s language; None for a bug of Easel's."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, Refused):
        return tr(error.text)
    if isinstance(error, RefusalError):  # a server rule or the image service's safety system
        return f"🚫 {tr(error.text)}"
    if isinstance(error, EaselError) and not isinstance(error, InternalError):
        return f"⚠️ {tr(error.text)}"  # the member's input, or the image service
    return None


async def report_error(interaction: Interaction, error: BaseException) -> None:
    """Answer the member privately about ``error``; log it first if it is a bug."""
    tr = lang_for(interaction)
    text = member_message(error, tr)
    if text is None:
        original = getattr(error, "original", error)
        log.error(
            "%s failed for user %s in guild %s",
            _what(interaction),
            interaction.user.id,
            interaction.guild_id,
            exc_info=original,
        )
        text = tr(
            _(
                "Something went wrong inside Easel (reference `{reference}`). Please try again.",
                reference=str(interaction.id),
            )
        )
    try:
        await answer_privately(interaction, text)
    except discord.HTTPException:
        log.warning("could not report the error to the member", exc_info=True)


def _what(interaction: Interaction) -> str:
    """The command, or the component's custom id, the interaction was for (for the log)."""
    if interaction.command is not None:
        return f"command {interaction.command.qualified_name}"
    custom_id = dict(interaction.data or {}).get("custom_id")
    return f"component {custom_id}" if custom_id else f"interaction {interaction.type.name}"
