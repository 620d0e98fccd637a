"""``/easel``: the server admins' controls (where, who, how much, what, results, moderation log).

Every subcommand checks Manage Server in code (``Admin.interaction_check``):
``default_permissions`` only hides the group by default and a server can grant it to anyone in
Integrations. All answers are ephemeral, in the admin's language (``/easel language`` sets the
language Easel speaks in the whole server).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.app_commands import Range
from discord.ext import commands

from bot.client import Interaction
from bot.errors import InputError
from bot.i18n import Items, Text, _, markup
from bot.options import Resolution
from bot.policy.models import MAX_N, ButtonAccess, JobCommand
from cogs._admin_budget import BudgetGroup
from cogs._admin_defaults import DefaultsGroup
from cogs._answers import Refused, answer_privately, server_of
from cogs._i18n import lang_for, language_choices
from cogs._options import parse_choice
from cogs._policy import is_admin
from cogs._settings_embed import escape_term, mentions, overview_embed, terms_embed

if TYPE_CHECKING:
    from bot.client import EaselBot

log = logging.getLogger(__name__)

Place = app_commands.AppCommandChannel | app_commands.AppCommandThread
TIMEZONES = sorted(available_timezones())
JOB_COMMAND_CHOICES = [app_commands.Choice(name=c.value, value=c.value) for c in JobCommand]
JOB_COMMANDS_TEXT = (
    ", ".join(f"/{c}" for c in list(JobCommand)[:-1]) + f" or /{list(JobCommand)[-1]}"
)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(
    commands.GroupCog,
    group_name="easel",
    group_description="Easel's settings for this server (Manage Server)",
):
    """Server admins' controls."""

    def __init__(self, bot: EaselBot) -> None:
        self.bot = bot
        super().__init__()

    terms = app_commands.Group(name="terms", description="Blocked terms in prompts")
    defaults = DefaultsGroup()  # /easel defaults … (cogs/_admin_defaults.py)
    budget = BudgetGroup()  # /easel budget … (cogs/_admin_budget.py)

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Every subcommand: members with Manage Server only; anyone else is refused privately."""
        server_of(interaction, _("Easel's settings are per server: run this in one."))
        if is_admin(interaction):
            return True
        log.info(
            "user %s tried /easel in guild %s without Manage Server",
            interaction.user.id,
            interaction.guild_id,
        )
        raise Refused(
            _(
                "🚫 Only members with the **Manage Server** permission can change Easel's "
                "settings. `/usage` shows your own images and limits."
            )
        )

    async def _update(self, interaction: Interaction, done: Text, **changes: Any) -> None:
        """Apply changes (validated: the error handler says what was wrong), say what changed.

        Said after the change, so a new server language answers in that language.
        """
        assert interaction.guild_id is not None
        await self.bot.policy.update(interaction.guild_id, by=interaction.user.id, **changes)
        await answer_privately(interaction, f"✅ {lang_for(interaction)(done)}")

    async def _save(self, interaction: Interaction, changes: dict[str, Any]) -> None:
        """Apply the options given (those left out stay as they are), or say none was."""
        if not changes:
            await answer_privately(
                interaction,
                lang_for(interaction)(_("Nothing to change: give at least one option.")),
            )
            return
        await self._update(interaction, _("Saved. `/easel settings` shows everything."), **changes)

    @app_commands.command(name="settings", description="Show every Easel setting of this server")
    async def settings_command(self, interaction: Interaction) -> None:
        """One overview of where, who, how much, what, results and the moderation log."""
        assert interaction.guild_id is not None
        await answer_privately(
            interaction,
            embed=overview_embed(self.bot, interaction.guild_id, lang_for(interaction)),
        )

    @app_commands.command(name="channel", description="Allow or deny Easel in a channel")
    @app_commands.describe(
        channel="A channel, thread or category (a category covers its channels)",
        rule="allow: only allowed channels work once any is allowed · deny · clear",
    )
    async def channel_command(
        self, interaction: Interaction, channel: Place, rule: Literal["allow", "deny", "clear"]
    ) -> None:
        """Add a channel to the allow list or the deny list, or take it off both."""
        assert interaction.guild_id is not None
        s = self.bot.policy.settings(interaction.guild_id)
        allowed = set(s.allowed_channels) - {channel.id}
        denied = set(s.denied_channels) - {channel.id}
        place = f"<#{channel.id}>"
        if rule == "allow":
            allowed.add(channel.id)
            done = _(
                "Easel is allowed in {channel}. It now works only in: {channels}.",
                channel=place,
                channels=mentions(frozenset(allowed), "<#{}>"),
            )
        elif rule == "deny":
            denied.add(channel.id)
            done = _("Easel is turned off in {channel}.", channel=place)
        else:
            done = _("{channel} has no channel rule any more.", channel=place)
        await self._update(interaction, done, allowed_channels=allowed, denied_channels=denied)

    @app_commands.command(name="where", description="Threads, NSFW-only, and resetting channels")
    @app_commands.describe(
        threads="Whether Easel works in threads (of channels where it works)",
        nsfw_only="Only in age-restricted (NSFW) channels",
        reset_channels="Remove every allowed and denied channel",
    )
    async def where_command(
        self,
        interaction: Interaction,
        threads: bool | None = None,
        nsfw_only: bool | None = None,
        reset_channels: bool = False,
    ) -> None:
        """Change where Easel may be used; options left out stay as they are."""
        changes = given(threads=threads, nsfw_only=nsfw_only)
        if reset_channels:
            changes.update(allowed_channels=frozenset(), denied_channels=frozenset())
        await self._save(interaction, changes)

    @app_commands.command(name="role", description="Require a role to use Easel, or stop")
    @app_commands.describe(
        role="The role",
        rule="require: members need any one required role · clear: no longer required",
    )
    async def role_command(
        self, interaction: Interaction, role: discord.Role, rule: Literal["require", "clear"]
    ) -> None:
        """Members need at least one required role (admins never lose access)."""
        assert interaction.guild_id is not None
        roles = set(self.bot.policy.settings(interaction.guild_id).required_roles)
        if rule == "require":
            roles.add(role.id)
            done = _(
                "Members now need one of: {roles}.", roles=mentions(frozenset(roles), "<@&{}>")
            )
        else:
            roles.discard(role.id)
            done = (
                _("{role} is no longer required.", role=markup.role(role.id))
                if roles
                else _(
                    "{role} is no longer required. Everyone can use Easel again.",
                    role=markup.role(role.id),
                )
            )
        await self._update(interaction, done, required_roles=roles)

    @app_commands.command(name="ban", description="Stop a member from using Easel here")
    @app_commands.describe(member="The member")
    async def ban_command(self, interaction: Interaction, member: discord.User) -> None:
        """Block one member (they are told, privately, when they try)."""
        assert interaction.guild_id is not None
        banned = set(self.bot.policy.settings(interaction.guild_id).banned_members) | {member.id}
        await self._update(
            interaction,
            _("{member} can no longer use Easel here.", member=markup.user(member.id)),
            banned_members=banned,
        )

    @app_commands.command(name="unban", description="Let a blocked member use Easel again")
    @app_commands.describe(member="The member")
    async def unban_command(self, interaction: Interaction, member: discord.User) -> None:
        """Unblock one member."""
        assert interaction.guild_id is not None
        banned = set(self.bot.policy.settings(interaction.guild_id).banned_members) - {member.id}
        await self._update(
            interaction,
            _("{member} can use Easel again.", member=markup.user(member.id)),
            banned_members=banned,
        )

    @app_commands.command(name="limits", description="Daily images, cooldown, size, timezone")
    @app_commands.describe(
        member_daily="Images per member per day (0: no limit)",
        server_daily="Images for the whole server per day (0: no limit)",
        cooldown="Seconds a member waits between jobs (0: none)",
        max_images="Most images one job may ask for (1-10)",
        max_resolution="Largest resolution tier (4K costs more)",
        timezone="Where the day starts for daily limits, e.g. Europe/Paris (default UTC)",
    )
    @app_commands.choices(
        max_resolution=[app_commands.Choice(name=r.value, value=r.value) for r in Resolution]
    )
    async def limits_command(
        self,
        interaction: Interaction,
        member_daily: Range[int, 0, 100_000] | None = None,
        server_daily: Range[int, 0, 1_000_000] | None = None,
        cooldown: Range[int, 0, 86_400] | None = None,
        max_images: Range[int, 1, MAX_N] | None = None,
        max_resolution: str | None = None,
        timezone: str | None = None,
    ) -> None:
        """Change how much members may make; options left out stay as they are."""
        changes = given(
            member_daily_images=member_daily,
            server_daily_images=server_daily,
            cooldown_seconds=cooldown,
            max_n=max_images,
            max_resolution=max_resolution,
            timezone=timezone and timezone.strip(),
        )
        for daily in ("member_daily_images", "server_daily_images"):
            if changes.get(daily) == 0:
                changes[daily] = None  # 0 means no limit
        await self._save(interaction, changes)

    @limits_command.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """IANA timezone names containing what was typed."""
        needle = current.casefold().replace(" ", "_")
        found = [name for name in TIMEZONES if needle in name.casefold()]
        return [app_commands.Choice(name=name, value=name) for name in found[:25]]

    @app_commands.command(name="command", description=f"Turn {JOB_COMMANDS_TEXT} on or off")
    @app_commands.describe(command="Which command", enabled="On or off")
    @app_commands.choices(command=JOB_COMMAND_CHOICES)
    async def command_command(self, interaction: Interaction, command: str, enabled: bool) -> None:
        """Switch one job command (and its result buttons) on or off in this server."""
        assert interaction.guild_id is not None
        switched = parse_choice(JobCommand, command, "command")
        if switched is None:
            raise InputError(_("Pick a command to switch."), field="command")
        on = set(self.bot.policy.settings(interaction.guild_id).commands)
        if enabled:
            on.add(switched)
        else:
            on.discard(switched)
        done = (
            _("`/{command}` is now on.", command=switched)
            if enabled
            else _("`/{command}` is now off.", command=switched)
        )
        await self._update(interaction, done, commands=on)

    @app_commands.command(name="output", description="Spoilers and who may press result buttons")
    @app_commands.describe(
        spoilers="Post results as spoilers (members click to reveal)",
        buttons="Who may reuse a member's result: its buttons, /show, Edit image",
    )
    async def output_command(
        self,
        interaction: Interaction,
        spoilers: bool | None = None,
        buttons: Literal["requester", "anyone"] | None = None,
    ) -> None:
        """How results are posted; options left out stay as they are."""
        changes = given(spoilers=spoilers, button_access=buttons and ButtonAccess(buttons))
        await self._save(interaction, changes)

    @app_commands.command(name="modlog", description="Set the moderation log channel, or turn off")
    @app_commands.describe(channel="Where every job and refusal is logged (leave out: turn off)")
    async def modlog_command(
        self,
        interaction: Interaction,
        channel: app_commands.AppCommandChannel | app_commands.AppCommandThread | None = None,
    ) -> None:
        """Every job (member, channel, prompt, settings, link) and refusal goes to one channel."""
        if channel is None:
            await self._update(
                interaction, _("The moderation log is off."), moderation_channel=None
            )
            return
        await self._update(
            interaction,
            _(
                "Every job and refusal is now logged in {channel}. Make sure Easel can send "
                "messages and embeds there.",
                channel=markup.channel(channel.id),
            ),
            moderation_channel=channel.id,
        )

    @app_commands.command(name="language", description="The language Easel speaks in this server")
    @app_commands.describe(language="One language for everyone, or each member's own")
    @app_commands.choices(language=language_choices())
    async def language_command(self, interaction: Interaction, language: str) -> None:
        """Answers, job messages and the moderation log in one language, or each member's."""
        chosen = None if language == "auto" else language
        done = (
            _("Easel now speaks each member's own Discord language here.")
            if chosen is None
            else _("Easel now speaks this language in this server.")
        )
        await self._update(interaction, done, language=chosen)

    @terms.command(name="add", description="Block a term in prompts (comma-separate several)")
    @app_commands.describe(
        term="Word or phrase; end with * to block words starting with it (e.g. gore*)"
    )
    async def terms_add(self, interaction: Interaction, term: Range[str, 1, 1000]) -> None:
        """Block terms; matching ignores case, accents, spacing, leetspeak and repeated letters."""
        assert interaction.guild_id is not None
        tr = lang_for(interaction)
        added: list[str] = []
        known: list[str] = []
        bad: list[str] = []
        for item in (t.strip() for t in term.split(",")):
            if not item:
                continue
            try:
                new = await self.bot.policy.add_term(
                    interaction.guild_id, item, by=interaction.user.id
                )
            except InputError as exc:
                bad.append(f"`{escape_term(item)}`: {tr(exc.text)}")
                continue
            (added if new else known).append(f"`{escape_term(item)}`")
        lines = []
        if added:
            blocked = _("Blocked: {terms}", terms=Items(items=tuple(added)))
            lines.append(f"✅ {tr(blocked)}")
        if known:
            lines.append(tr(_("Already blocked: {terms}", terms=Items(items=tuple(known)))))
        lines.extend(f"⚠️ {line}" for line in bad)
        await answer_privately(interaction, "\n".join(lines) or tr(_("Nothing to add.")))

    @terms.command(name="remove", description="Unblock a term")
    @app_commands.describe(term="The term, as listed by /easel terms list")
    async def terms_remove(self, interaction: Interaction, term: Range[str, 1, 1000]) -> None:
        """Unblock a term (any spelling that matches the same way)."""
        assert interaction.guild_id is not None
        removed = await self.bot.policy.remove_term(
            interaction.guild_id, term, by=interaction.user.id
        )
        tr = lang_for(interaction)
        shown = escape_term(term)
        unblocked = _("`{term}` is no longer blocked.", term=shown)
        answer = (
            f"✅ {tr(unblocked)}"
            if removed
            else tr(_("`{term}` was not blocked. `/easel terms list` shows the list.", term=shown))
        )
        await answer_privately(interaction, answer)

    @terms.command(name="list", description="Show the blocked terms (only you see them)")
    async def terms_list(self, interaction: Interaction) -> None:
        """The blocked terms, privately: members never see the list."""
        assert interaction.guild_id is not None
        terms = self.bot.policy.terms(interaction.guild_id)
        tr = lang_for(interaction)
        if not terms:
            await answer_privately(
                interaction, tr(_("No blocked terms. Add some with `/easel terms add`."))
            )
            return
        await answer_privately(interaction, embed=terms_embed(terms, tr))


def given(**options: Any) -> dict[str, Any]:
    """The options a command was given: Discord leaves the others out (None)."""
    return {name: value for name, value in options.items() if value is not None}


async def setup(bot: EaselBot) -> None:
    """Load the cog."""
    cog = Admin(bot)
    await bot.add_cog(cog)
