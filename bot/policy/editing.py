"""What admins change: a server's settings and blocked terms, validated, saved and logged.

The part of ``PolicyService`` (mixed into it) that keeps each server's settings and terms in
memory: changed here through this process, or taken as another process saved them (``apply``,
from ``bot.policy.sync``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.errors import InputError
from bot.i18n import Text, _, _n, literal
from bot.jobs.records import JobRecord
from bot.policy.models import DM_SCOPE, GuildSettings, local_day
from bot.policy.ports import PolicyStore
from bot.policy.records import AuditEntry, settings_changes, settings_diff
from bot.policy.terms import MAX_TERM_CHARS, TermMatcher, normalize_term
from bot.text import visible_text

log = logging.getLogger(__name__)

MAX_TERMS = 500


class SettingsEditing:
    """Servers' settings and blocked terms in memory, and the admins' changes to them."""

    store: PolicyStore
    clock: Callable[[], float]
    _settings: dict[int, GuildSettings]
    _terms: dict[int, list[str]]
    _matchers: dict[int, TermMatcher]

    if TYPE_CHECKING:

        async def _audit(self, entry: AuditEntry, job: JobRecord | None) -> None:
            """Log an audit entry (``PolicyService``)."""

    def settings(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (defaults until an admin changes something)."""
        return self._settings.get(guild_id if guild_id is not None else DM_SCOPE, _DEFAULTS)

    def terms(self, guild_id: int) -> tuple[str, ...]:
        """A server's blocked terms, as the admins typed them."""
        return tuple(self._terms.get(guild_id, ()))

    async def update(self, guild_id: int, *, by: int | None, **changes: Any) -> GuildSettings:
        """Change some settings (validated: InputError says what is wrong), save, log."""
        before = self.settings(guild_id)
        try:
            after = GuildSettings.model_validate({**before.model_dump(), **changes})
        except ValidationError as exc:
            raise InputError(_first_error(exc, changes)) from None
        if after == before:
            return after
        await self.store.save_settings(guild_id, after, by=by)
        self._settings[guild_id] = after
        summary = settings_changes(before, after)
        await self._settings_changed(guild_id, by, summary, settings_diff(before, after))
        return after

    async def add_term(self, guild_id: int, term: str, *, by: int | None) -> bool:
        """Block a term; False if the same spelling is already blocked. ValueError if unusable."""
        term = " ".join(visible_text(term).split())  # stored and listed as it reads
        normalized = normalize_term(term)
        if len(normalized.rstrip("*")) < 2:
            raise InputError(_("A term needs at least two letters or digits to match."))
        if len(term) > MAX_TERM_CHARS:
            raise InputError(_("Terms can be at most {max} characters.", max=MAX_TERM_CHARS))
        if len(self._terms.get(guild_id, ())) >= MAX_TERMS:
            raise InputError(_("A server can block at most {max} terms.", max=MAX_TERMS))
        if not await self.store.add_term(guild_id, term, normalized, by=by):
            return False
        self._set_terms(guild_id, [*self._terms.get(guild_id, ()), term])
        await self._settings_changed(
            guild_id,
            by,
            _n(
                "blocked a term ({count} character)",
                "blocked a term ({count} characters)",
                len(term),
            ),
        )
        return True

    async def remove_term(self, guild_id: int, term: str, *, by: int | None) -> bool:
        """Unblock a term (any spelling that folds the same); False if it was not blocked."""
        normalized = normalize_term(term)
        if not await self.store.remove_term(guild_id, normalized):
            return False
        kept = [t for t in self._terms.get(guild_id, ()) if normalize_term(t) != normalized]
        self._set_terms(guild_id, kept)
        await self._settings_changed(guild_id, by, _("unblocked a term"))
        return True

    def apply(self, guild_id: int, settings: GuildSettings | None, terms: list[str]) -> None:
        """Take a server's settings and terms as another process saved them."""
        if settings is None:
            self._settings.pop(guild_id, None)
        else:
            self._settings[guild_id] = settings
        self._set_terms(guild_id, terms)

    def _set_terms(self, guild_id: int, terms: Iterable[str]) -> None:
        self._terms[guild_id] = list(terms)
        self._matchers[guild_id] = TermMatcher(self._terms[guild_id])

    async def _settings_changed(
        self, guild_id: int, by: int | None, what: Text, detail: str | None = None
    ) -> None:
        """Audit a change: ``what`` for the moderation log's readers, ``detail`` (else ``what``
        in English) for the stored audit log."""
        log.info("guild %s: settings changed by %s: %s", guild_id, by, what)
        await self._audit(
            AuditEntry(
                guild_id=guild_id,
                event="settings",
                day=local_day(self.clock(), self.settings(guild_id).zone),
                at=self.clock(),
                user_id=by,
                detail=detail or str(what),
                detail_text=what,
            ),
            None,
        )


def _first_error(exc: ValidationError, changes: dict[str, Any]) -> Text:
    """A validation error's first message in plain words, naming the setting (pydantic's own
    messages, "Input should be…", do not; our validators' do), in the admin's language where
    Easel wrote it."""
    error = exc.errors()[0]
    setting = ".".join(str(part) for part in error["loc"])
    if setting == "timezone":
        return _(
            "Unknown timezone {name}; use an IANA name like Europe/Paris or America/New_York.",
            name=str(changes.get("timezone")),
        )
    if setting == "language":
        return _("Easel does not speak {name}.", name=str(changes.get("language")))
    message = str(error["msg"])
    if error["type"] == "value_error" or not setting:
        return literal(message.removeprefix("Value error, "))
    return literal(f"`{setting}`: {message}")


_DEFAULTS = GuildSettings()
