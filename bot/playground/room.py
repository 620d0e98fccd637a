"""The playground's server as the page shows it to one member, and what that member does in it.

Everything goes through the local Discord: what a member sees is what their Discord client would
show (``visible_channels``, ``visible_messages``, ``usable_commands``), and what they do is the
driver acting as them (a slash command, a button, a modal), so the bot meets exactly the payloads
Discord would send. The page's JSON is Discord's own, with snowflakes as strings, plus who may see
an ephemeral message; attachment URLs point at this server's ``/media`` instead of the fake CDN.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.i18n import Lang, Text, _, _n, literal
from bot.playground.activity import ActivityLog
from bot.playground.checks import (
    ATTACHMENT,
    MAX_CONTENT,
    MAX_FILES,
    PlaygroundError,
    check_file,
    coerce,
    option_defs,
)
from bot.playground.ports import JSON, InteractionPort, LocalDiscordPort, MessagePort, Upload

log = logging.getLogger(__name__)

_CDN_PATH = re.compile(r"^/(?:media/)?attachments/\d+/(\d+)/([^?]+)")
ANSWER_GRACE = 0.5  # seconds past Discord's deadline before the page says there was no answer


@dataclass(frozen=True, slots=True)
class Persona:
    """A member the visitor can act as."""

    user_id: int
    name: str  # the username, used in the page's address (``?as=alice``)
    display: str
    role: Text  # what the page says about them ("member", "admin: Manage Server")
    admin: bool = False

    def json(self, lang: Lang) -> JSON:
        """As the page reads it, in the visitor's language."""
        return {
            "id": str(self.user_id),
            "name": self.name,
            "display": self.display,
            "role": lang(self.role),
            "admin": self.admin,
        }


class Room:
    """One local Discord server, seen and driven as its members."""

    def __init__(
        self,
        ld: LocalDiscordPort,
        personas: list[Persona],
        *,
        modlog_channel_id: int | None,
        provider_label: Text | str,
        publish: Callable[[JSON], None],
    ) -> None:
        self.ld = ld
        self.personas = personas
        self.modlog_channel_id = modlog_channel_id
        self.provider_label = provider_label
        self._publish = publish
        self.activity = ActivityLog(publish)
        self.controls: dict[str, bool] = {"everyone_easel": False, "tight_rate_limits": False}

    # ------------------------------------------------------------------ reading
    def persona(self, ref: str) -> Persona:
        """A persona by username or user ID (the page's ``as``)."""
        for persona in self.personas:
            if ref in (persona.name, str(persona.user_id)):
                return persona
        raise PlaygroundError(_("There is no member {name} to act as.", name=repr(ref)), 404)

    def state(self, viewer: Persona, lang: Lang) -> JSON:
        """The server as ``viewer`` sees it: channels, members, roles, and the playground."""
        ld = self.ld
        label = self.provider_label
        guild = ld.guild
        return {
            "guild": {"id": str(guild.id), "name": guild.name},
            "bot": {
                "id": str(ld.bot_user.id),
                "name": ld.bot_user.global_name or ld.bot_user.username,
                "connected": ld.connected,
            },
            "provider": lang(label) if isinstance(label, Text) else label,
            "me": viewer.json(lang),
            "personas": [p.json(lang) for p in self.personas],
            "channels": [
                {
                    "id": str(c.id),
                    "name": c.name,
                    "nsfw": c.nsfw,
                    "topic": c.topic,
                    "modlog": c.id == self.modlog_channel_id,
                }
                for c in ld.visible_channels(viewer.user_id)
            ],
            "members": [
                {
                    "id": str(m.user.id),
                    "name": m.nick or m.user.global_name or m.user.username,
                    "bot": m.user.bot,
                    "roles": [str(r) for r in m.roles],
                }
                for m in guild.members.values()
            ],
            "roles": [
                {"id": str(r.id), "name": r.name, "color": r.color} for r in guild.roles.values()
            ],
            "controls": dict(self.controls),
            "activity": self.activity.snapshot(),
        }

    def channel(self, viewer: Persona, channel_id: int) -> JSON:
        """A channel's messages and the commands ``viewer`` can use there."""
        self._open_channel(viewer, channel_id)
        ld = self.ld
        return {
            "messages": [
                self.message_json(m) for m in ld.visible_messages(viewer.user_id, channel_id)
            ],
            "commands": ld.usable_commands(viewer.user_id, channel_id, type=1),
            "apps": ld.usable_commands(viewer.user_id, channel_id, type=3),
        }

    def message_json(self, message: MessagePort) -> JSON:
        """A message as Discord's client receives it, media on this server, and its viewer."""
        viewer = self.ld.ephemeral_viewer(message.id)
        return {
            "message": self._local_media(dict(message.payload())),
            "viewer": None if viewer is None else str(viewer),
        }

    def media(self, attachment_id: int) -> tuple[bytes, str] | None:
        """An attachment's bytes and type, unless gone (expired, or never kept)."""
        found = self.ld.world.attachments.get(attachment_id)
        if found is None or found.expired or not found.data:
            return None
        return found.data, found.content_type or "application/octet-stream"

    def _local_media(self, node: Any) -> Any:
        """Point every CDN URL in a payload at ``/media/{attachment_id}/{filename}``."""
        if isinstance(node, dict):
            return {k: self._local_media(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._local_media(v) for v in node]
        if isinstance(node, str) and node.startswith(self.ld.base_url):
            match = _CDN_PATH.match(node[len(self.ld.base_url) :])
            if match:
                return f"/media/{match[1]}/{match[2]}"
        return node

    def _open_channel(self, viewer: Persona, channel_id: int) -> None:
        if all(c.id != channel_id for c in self.ld.visible_channels(viewer.user_id)):
            raise PlaygroundError(
                _("{member} cannot see that channel.", member=viewer.display), 404
            )

    def _visible_message(self, viewer: Persona, message_id: int) -> MessagePort:
        message = self.ld.messages.get(message_id)
        if message is not None:
            visible = self.ld.visible_messages(viewer.user_id, message.channel_id)
            if any(m.id == message_id for m in visible):
                return message
        raise PlaygroundError(_("That message is gone, or not one you can see."), 404)

    # ------------------------------------------------------------------ acting
    async def run_command(
        self,
        viewer: Persona,
        channel_id: int,
        name: str,
        options: Mapping[str, Any],
        *,
        subcommand: str | None = None,
        uploads: Mapping[str, Upload] | None = None,
        lang: Lang,
    ) -> JSON:
        """``viewer`` runs ``/name [subcommand]`` with ``options`` (files by option name)."""
        self._open_channel(viewer, channel_id)
        command = self._command(viewer, channel_id, name, 1)
        defs = option_defs(command, subcommand)
        values = coerce(defs, options)
        for option, upload in (uploads or {}).items():
            check_file(upload)
            if defs.get(option, {}).get("type") != ATTACHMENT:
                raise PlaygroundError(
                    _("/{command} has no file option {option}.", command=name, option=repr(option))
                )
            values[option] = upload
        self._speak(viewer, lang)
        return await self._dispatch(
            self.ld.send_slash_command(
                viewer.user_id, channel_id, name, values, subcommand=subcommand
            ),
            lang,
        )

    async def autocomplete(
        self,
        viewer: Persona,
        channel_id: int,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        subcommand: str | None = None,
        lang: Lang,
    ) -> list[JSON]:
        """The bot's suggestions for ``focused`` while ``viewer`` types (empty if it has none)."""
        self._open_channel(viewer, channel_id)
        self._command(viewer, channel_id, name, 1)
        handles: list[InteractionPort] = []
        self._speak(viewer, lang)
        answer = await self._dispatch(
            self.ld.autocomplete(
                viewer.user_id, channel_id, name, options, focused, subcommand=subcommand
            ),
            lang,
            handles,
        )
        choices = handles[0].autocomplete_choices if answer["answered"] else None
        return list(choices or [])

    async def post(
        self, viewer: Persona, channel_id: int, content: str, uploads: list[Upload]
    ) -> JSON:
        """``viewer`` writes a message (an image to edit, say)."""
        self._open_channel(viewer, channel_id)
        if not content.strip() and not uploads:
            raise PlaygroundError(_("Write something or attach a file."))
        if len(content) > MAX_CONTENT:
            raise PlaygroundError(
                _n(
                    "Messages hold {count} character; this has {length}.",
                    "Messages hold {count} characters; this has {length}.",
                    MAX_CONTENT,
                    length=len(content),
                )
            )
        if len(uploads) > MAX_FILES:
            raise PlaygroundError(
                _n(
                    "Attach at most {count} file to one message.",
                    "Attach at most {count} files to one message.",
                    MAX_FILES,
                )
            )
        for upload in uploads:
            check_file(upload)
        message = await self.ld.post_message(
            viewer.user_id, channel_id, content, attachments=uploads
        )
        return self.message_json(message)

    async def press(
        self,
        viewer: Persona,
        message_id: int,
        custom_id: str,
        values: list[str] | None,
        *,
        lang: Lang,
    ) -> JSON:
        """``viewer`` presses a button, or picks ``values`` in a select menu."""
        self._visible_message(viewer, message_id)
        self._speak(viewer, lang)
        if values is None:
            sending = self.ld.click_button(viewer.user_id, message_id, custom_id)
        else:
            sending = self.ld.select(viewer.user_id, message_id, custom_id, values)
        return await self._dispatch(sending, lang)

    async def use_app(self, viewer: Persona, message_id: int, name: str, *, lang: Lang) -> JSON:
        """``viewer`` picks ``name`` from a message's Apps menu (Edit image)."""
        message = self._visible_message(viewer, message_id)
        self._command(viewer, message.channel_id, name, 3)
        self._speak(viewer, lang)
        return await self._dispatch(
            self.ld.use_message_command(viewer.user_id, message.channel_id, name, message_id),
            lang,
        )

    async def submit_modal(
        self, viewer: Persona, interaction_id: int, fields: Mapping[str, Any], *, lang: Lang
    ) -> JSON:
        """``viewer`` submits the form the bot opened for them."""
        opened = self.ld.world.interactions.get(interaction_id)
        if opened is None or opened.modal is None or opened.user.id != viewer.user_id:
            raise PlaygroundError(_("That form is not open for you any more."), 404)
        self._speak(viewer, lang)
        return await self._dispatch(
            self.ld.submit_modal(viewer.user_id, fields=fields, after=opened), lang
        )

    def _speak(self, viewer: Persona, lang: Lang) -> None:
        """The visitor's language becomes ``viewer``'s Discord client language: every
        interaction they send from now on carries it as its ``locale``, as Discord's does."""
        self.ld.world.users[viewer.user_id].locale = lang.code

    async def set_controls(self, changes: Mapping[str, bool]) -> JSON:
        """The playground's own switches: Integrations for /easel, tight rate limits."""
        if "everyone_easel" in changes:
            allowed = changes["everyone_easel"]
            await self.ld.set_command_permission("easel", "@everyone", True if allowed else None)
            self.controls["everyone_easel"] = allowed
        if "tight_rate_limits" in changes:
            self._tight_rate_limits(changes["tight_rate_limits"])
        self._publish({"type": "controls", "controls": dict(self.controls)})
        return dict(self.controls)

    def _tight_rate_limits(self, on: bool) -> None:
        """One edit per 3 s per message, unannounced: the bot meets 429s and must wait them out."""
        from local_discord import Limits, RateLimitRule

        self.ld.limits.message_edit = (
            RateLimitRule(1, 3.0, headers=False) if on else Limits().message_edit
        )
        self.controls["tight_rate_limits"] = on

    def _command(self, viewer: Persona, channel_id: int, name: str, ctype: int) -> JSON:
        for command in self.ld.usable_commands(viewer.user_id, channel_id, type=ctype):
            if command["name"] == name:
                return command
        raise PlaygroundError(
            _("{member} has no command {command} here.", member=viewer.display, command=repr(name)),
            403,
        )

    async def _dispatch(
        self,
        sending: Awaitable[InteractionPort],
        lang: Lang,
        handles: list[InteractionPort] | None = None,
    ) -> JSON:
        """Send an interaction and wait (as Discord's client does, up to its 3 s) for the bot's
        first answer; what the driver refuses, as Discord's client would, is the member's error."""
        from local_discord import NoBotConnected

        try:
            handle = await sending
        except NoBotConnected:
            raise PlaygroundError(
                _("Easel is not connected yet; try again in a moment."), 503
            ) from None
        except (ValueError, TypeError, LookupError) as exc:
            # what the driver refuses, in its own words (a client check: no member sees it)
            raise PlaygroundError(literal(str(exc))) from None
        if handles is not None:
            handles.append(handle)
        out: JSON = {"interaction": str(handle.id), "answered": False}
        try:
            await handle.wait_for(
                lambda h: bool(h.callbacks), timeout=self.ld.ack_deadline + ANSWER_GRACE
            )
        except TimeoutError:
            out["error"] = lang(
                _("Easel did not respond in time (Discord: “The application did not respond”).")
            )
            return out
        first = handle.callbacks[0]
        if first.status >= 300:
            out["error"] = lang(
                _(
                    "Discord refused Easel's answer ({status}, code {code}).",
                    status=str(first.status),
                    code=str(first.error_code),
                )
            )
            return out
        out.update(answered=True, type=first.type, modal=handle.modal)
        return out

    # ------------------------------------------------------------------ watching
    def watch(self) -> Callable[[], None]:
        """Follow the local Discord: page events and activity; returns the function that stops."""
        return self.ld.feed.listen(self._on_event)

    def _on_event(self, event: object) -> None:
        from local_discord import (
            CommandsChanged,
            InteractionDispatched,
            MessageChanged,
            RequestHandled,
        )

        if isinstance(event, MessageChanged):
            out = self.message_json(event.message)
            self._publish({"type": "message", "kind": event.kind, **out})
        elif isinstance(event, RequestHandled):
            r = event.record
            self.activity.discord_request(r.method, r.route, r.path, r.status, r.duration, r.wall)
        elif isinstance(event, InteractionDispatched):
            handle = event.interaction
            data = handle.payload.get("data") or {}
            what = data.get("name") or data.get("custom_id") or "?"
            kinds = {2: "command", 3: "component", 4: "autocomplete", 5: "modal"}
            note = f"{kinds.get(handle.type, 'interaction')} {what} by {handle.user.username}"
            self.activity.gateway_event("INTERACTION_CREATE", note)
        elif isinstance(event, CommandsChanged):
            self._publish({"type": "commands"})
