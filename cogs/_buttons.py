"""Buttons and menus on job messages that keep working after a restart.

Each is a ``DynamicItem`` whose custom id carries the action and the job id
(``easel:<action>:<job id>[:<image index>]``), so a fresh process can answer a press on a
message posted days ago: the job is read back from the store.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.client import Interaction
from bot.i18n import Lang, Text, _, _p, markup
from bot.jobs.derive import DerivedAction, next_tier
from bot.jobs.records import JobRecord
from bot.policy.models import JobCommand
from cogs._answers import answer_privately, report_error
from cogs._edit_modal import open_edit_for_result
from cogs._i18n import lang_for
from cogs._policy import ensure_reusable
from cogs._run import start_job

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

JOB_ID = r"(?P<job>[0-9a-f]{8,32})"


async def load_job(interaction: Interaction, job_id: str) -> JobRecord | None:
    """The job behind a button, or None after telling the member it is gone."""
    job = await interaction.client.engine.get_job(job_id)
    if job is None:
        await answer_privately(interaction, lang_for(interaction)(_("That job no longer exists.")))
    return job


def is_requester(interaction: Interaction, job: JobRecord) -> bool:
    """Whether the person pressing started the job."""
    return interaction.user.id == job.user_id


def can_manage_messages(interaction: Interaction) -> bool:
    """Whether the person pressing may delete others' messages here."""
    permissions = getattr(interaction, "permissions", None)
    return bool(permissions and permissions.manage_messages)


async def derive_and_start(
    interaction: Interaction,
    job: JobRecord,
    action: DerivedAction,
    *,
    index: int = 0,
) -> None:
    """Make the derived request and start it as a new job with its own message."""
    engine = interaction.client.engine
    request, inputs = await engine.derive(job, action, index=index)
    resolved = engine.validate(request)
    await start_job(
        interaction, resolved, inputs=inputs, kind=job.kind, parent_id=job.id, action=action
    )


async def press(interaction: Interaction, action: str, job_id: str, index: int) -> None:
    """Run a button's or menu's action; its errors are reported like a command's.

    discord.py only logs what a dynamic item's callback raises, so this is where they are
    handed to the error handler.
    """
    try:
        await run_action(interaction, action, job_id, index)
    except Exception as error:  # noqa: BLE001 - every error is reported (and bugs logged) there
        await report_error(interaction, error)


async def run_action(interaction: Interaction, action: str, job_id: str, index: int) -> None:
    """What every button and menu does once it knows its action, job and image."""
    job = await load_job(interaction, job_id)
    if job is None:
        return
    engine = interaction.client.engine
    tr = lang_for(interaction)
    if action == "cancel":
        if not is_requester(interaction, job):
            await answer_privately(
                interaction,
                tr(
                    _(
                        "Only {requester} can cancel this job.",
                        requester=markup.user(job.user_id or 0),
                    )
                ),
            )
            return
        cancelled = await engine.cancel(job.id)
        await answer_privately(
            interaction,
            tr(_("Cancelled. Work the image service already started may still be charged."))
            if cancelled
            else tr(_("This job has already finished.")),
        )
        return
    if action == "delete":
        await delete_result(interaction, job)
        return
    # Everything else shows or reuses the job: the server's rules decide, here and now.
    command = JobCommand.EDIT if action == "edit" else job.kind
    await ensure_reusable(interaction, job, command=command)
    if action == "edit":
        await open_edit_for_result(interaction, job, index)  # an edit of the image, area optional
        return
    if action in ("reroll", "vary", "upscale"):
        await derive_and_start(interaction, job, action, index=index)  # type: ignore[arg-type]


async def delete_result(interaction: Interaction, job: JobRecord) -> None:
    """Delete a result for good: its images are erased and its message goes.

    For the requester and members who may manage messages. Nothing brings a deleted result
    back, not even its requester: ``/show`` and every button refuse it from then on. Copies
    posted earlier with ``/show`` stay until deleted themselves, and their buttons refuse too.
    """
    if not (is_requester(interaction, job) or can_manage_messages(interaction)):
        only = _("Only the requester or members who can manage messages can delete this.")
        await answer_privately(interaction, lang_for(interaction)(only))
        return
    await interaction.response.defer()
    await interaction.client.engine.erase(job, by=interaction.user.id)
    pressed = interaction.message
    if pressed is not None:
        await pressed.delete()
    original = job.delivery.message_id if job.delivery else None
    if (
        original is not None
        and job.channel_id is not None
        and original != getattr(pressed, "id", None)
    ):
        channel = interaction.client.get_partial_messageable(job.channel_id)
        try:
            await channel.get_partial_message(original).delete()
        except discord.HTTPException:
            log.info("job %s: its original message was already gone", job.id)
    log.info("job %s: result deleted by %s", job.id, interaction.user.id)


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=rf"easel:(?P<action>reroll|vary|upscale|edit|delete|cancel):{JOB_ID}(?::(?P<index>\d+))?",
):
    """One action on one job (and image)."""

    def __init__(
        self,
        action: str,
        job_id: str,
        index: int = 0,
        *,
        label: str = "",
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        custom_id = f"easel:{action}:{job_id}" + (f":{index}" if index else "")
        super().__init__(
            discord.ui.Button(
                label=label or None,
                emoji=emoji,
                style=style,
                custom_id=custom_id,
                disabled=disabled,
                row=row,
            )
        )
        self.action = action
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: Interaction, item: discord.ui.Button[Any], match: re.Match[str]
    ) -> JobButton:
        """Rebuild the button from its custom id (after a restart too)."""
        return cls(match["action"], match["job"], int(match["index"] or 0))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        """Run the action."""
        await press(interaction, self.action, self.job_id, self.index)


PICKER_PLACEHOLDERS = {
    "vary": _("Vary an image…"),
    "upscale": _("Upscale an image…"),
    "edit": _("Edit an image…"),
}
PICKER_EMOJI = {"vary": "🎨", "upscale": "⬆️", "edit": "✏️"}


class ImagePicker(
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
    template=rf"easel:pick:(?P<action>vary|upscale|edit):{JOB_ID}",
):
    """For jobs with several images: pick which one to vary, upscale or edit."""

    def __init__(
        self,
        action: str,
        job_id: str,
        count: int = 1,
        *,
        tr: Lang | None = None,
        row: int | None = None,
        disabled: bool = False,
    ) -> None:
        tr = tr or Lang.of(None)
        options = [
            discord.SelectOption(label=tr(_("Image {number}", number=i + 1)), value=str(i))
            for i in range(max(count, 1))
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"easel:pick:{action}:{job_id}",
                placeholder=f"{PICKER_EMOJI[action]} {tr(PICKER_PLACEHOLDERS[action])}",
                options=options,
                row=row,
                disabled=disabled,
            )
        )
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: Interaction, item: discord.ui.Select[Any], match: re.Match[str]
    ) -> ImagePicker:
        """Rebuild the menu from its custom id."""
        return cls(match["action"], match["job"], len(item.options))

    async def callback(self, interaction: Interaction) -> None:  # type: ignore[override]
        """Run the action on the chosen image."""
        index = int(self.item.values[0]) if self.item.values else 0
        await press(interaction, self.action, self.job_id, index)


@dataclass(frozen=True)
class Look:
    """A job button as members see it: the action it runs, its label, emoji and colour."""

    action: str
    label: Text
    emoji: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


LOOKS = {
    "cancel": Look("cancel", _p("button", "Cancel"), "✖️"),
    "retry": Look("reroll", _p("button", "Retry"), "🔁", discord.ButtonStyle.primary),
    "reroll": Look("reroll", _p("button", "Re-roll"), "🔄", discord.ButtonStyle.primary),
    "vary": Look("vary", _p("button", "Vary"), "🎨"),
    "upscale": Look("upscale", _p("button", "Upscale"), "⬆️"),
    "edit": Look("edit", _p("button", "Edit"), "✏️"),
    "delete": Look("delete", _p("button", "Delete"), "🗑️", discord.ButtonStyle.danger),
}


def button(
    look: str, job: JobRecord, tr: Lang, *, row: int | None = None, disabled: bool = False
) -> JobButton:
    """The ``LOOKS[look]`` button for ``job``, labelled in the reader's language."""
    shown = LOOKS[look]
    return JobButton(
        shown.action,
        job.id,
        label=tr(shown.label),
        emoji=shown.emoji,
        style=shown.style,
        row=row,
        disabled=disabled,
    )


def job_view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    """A persistent view of these items (they keep working after a restart)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def progress_view(job: JobRecord, tr: Lang) -> discord.ui.View:
    """Under a job in progress: Cancel."""
    return job_view(button("cancel", job, tr))


def retry_view(job: JobRecord, tr: Lang) -> discord.ui.View:
    """Under a job that failed or a restart cut off: one press runs it again (a re-roll)."""
    return job_view(button("retry", job, tr))


def result_view(job: JobRecord, tr: Lang, *, upscale_possible: bool) -> discord.ui.View:
    """Under finished images: re-roll, vary, upscale, edit, delete (in the requester's words)."""
    count = len(job.results)
    if count <= 1:
        return job_view(
            *(
                button(look, job, tr, row=0, disabled=look == "upscale" and not upscale_possible)
                for look in ("reroll", "vary", "upscale", "edit", "delete")
            )
        )
    return job_view(
        button("reroll", job, tr, row=0),
        button("delete", job, tr, row=0),
        ImagePicker("vary", job.id, count, tr=tr, row=1),
        ImagePicker("upscale", job.id, count, tr=tr, row=2, disabled=not upscale_possible),
        ImagePicker("edit", job.id, count, tr=tr, row=3),
    )


def upscale_possible(job: JobRecord, bot: EaselBot) -> bool:
    """Whether a larger tier exists for the job's ratio."""
    return next_tier(job, bot.engine.spec) is not None


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (JobButton, ImagePicker)
