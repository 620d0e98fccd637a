"""Defaults for the image options, set by a server's admins (for the server and per channel) and
by each member for themselves; plain data, the layers they come in, and how one is described.

A member's defaults win over the channel's, which win over the server's; an option typed in the
command wins over all of them (``bot.policy.defaulting`` applies them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.i18n import Items, Lang, Text, Value, _, _n, literal, markup
from bot.jobs.models import AppliedDefault, DefaultSource
from bot.options import OutputFormat, Quality, Ratio, Resolution

MAX_DEFAULT_N = 10

# The request field of each option, and the name members see (the slash command's option).
OptionField = Literal["ratio", "resolution", "quality", "output_format", "n"]
FIELDS: tuple[OptionField, ...] = ("ratio", "resolution", "quality", "output_format", "n")
OPTION_NAMES: dict[OptionField, Literal["ratio", "resolution", "quality", "format", "n"]] = {
    "ratio": "ratio",
    "resolution": "resolution",
    "quality": "quality",
    "output_format": "format",
    "n": "n",
}
FIELD_OF = {name: field for field, name in OPTION_NAMES.items()}
QUALITY_NAMES = {
    Quality.LOW: _("low quality"),
    Quality.MEDIUM: _("medium quality"),
    Quality.HIGH: _("high quality"),
}
AUTO_RATIO = "auto is not a default ratio: edits keep the image's shape anyway"


class JobDefaults(BaseModel):
    """Options to use when a command leaves them out; None: no default for that option."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ratio: Ratio | None = None
    resolution: Resolution | None = None
    quality: Quality | None = None
    output_format: OutputFormat | None = None
    n: int | None = Field(default=None, ge=1, le=MAX_DEFAULT_N)

    @field_validator("ratio")
    @classmethod
    def _fixed_ratio(cls, value: Ratio | None) -> Ratio | None:
        if value is Ratio.AUTO:
            raise ValueError(AUTO_RATIO)
        return value

    @property
    def empty(self) -> bool:
        """No default set."""
        return not self.given()

    def given(self) -> dict[OptionField, Any]:
        """The options that have a default."""
        return {field: getattr(self, field) for field in FIELDS if getattr(self, field) is not None}

    def changed(self, changes: dict[OptionField, Any], cleared: set[OptionField]) -> JobDefaults:
        """A copy with ``changes`` set and ``cleared`` options back to no default (validated)."""
        data = {**self.given(), **changes}
        for field in cleared:
            data.pop(field, None)
        return JobDefaults.model_validate(data)

    def describe(self) -> Value:
        """``16:9 · 2K · high quality · jpeg · 2 images``, or ``none`` (``Lang.value`` writes it
        in the reader's words)."""
        parts = [option_text(field, value) for field, value in self.given().items()]
        return Items(items=tuple(parts), style="dots") if parts else _("none")


def option_text(field: OptionField | str, value: Any) -> Text:
    """One option as members read it: ``2K``, ``high quality``, ``2 images``."""
    if field == "n":
        return _n("{count} image", "{count} images", int(value))
    if field == "quality" and value in QUALITY_NAMES:
        return QUALITY_NAMES[Quality(value)]
    return literal(str(value))  # a ratio, a size tier, a file format: the same in every language


class DefaultLayer(BaseModel):
    """One place defaults come from: the member, a channel (or its category), the server."""

    model_config = ConfigDict(frozen=True)

    source: DefaultSource
    defaults: JobDefaults
    place: int | None = None  # the channel or category


def layers(
    server: JobDefaults,
    channels: dict[int, JobDefaults],
    places: tuple[int, ...],
    member: JobDefaults | None,
) -> list[DefaultLayer]:
    """The layers that apply in ``places`` (channel, thread parent, category), strongest first:
    the member's, the channel's (a thread's parent's, then the category's), the server's."""
    found = []
    if member is not None and not member.empty:
        found.append(DefaultLayer(source="member", defaults=member))
    for place in places:
        defaults = channels.get(place)
        if defaults is not None and not defaults.empty:
            found.append(DefaultLayer(source="channel", defaults=defaults, place=place))
    if not server.empty:
        found.append(DefaultLayer(source="server", defaults=server))
    return found


def source_text(applied: AppliedDefault) -> Text:
    """Where a default came from, as the job's message says it."""
    if applied.source == "member":
        return _("your default")
    if applied.source == "channel" and applied.place is not None:
        return _("{channel}'s default", channel=markup.channel(applied.place))
    return _("server default")


def applied_text(applied: list[AppliedDefault], tr: Lang) -> str | None:
    """``16:9 (server default) · 2K (<#1>'s default)``, and defaults left out with why, in
    ``tr``'s language."""
    used = [a for a in applied if a.skipped is None]
    skipped = [a for a in applied if a.skipped is not None]
    lines = []
    if used:
        # Translators: an option a job took from a default, and whose default it was.
        parts = [
            _("{option} ({source})", option=option_text(a.option, a.value), source=source_text(a))
            for a in used
        ]
        lines.append(tr.value(Items(items=tuple(parts), style="dots")))
    lines.extend(
        tr(
            _(
                "Not used: {option} ({source}): {reason}",
                option=option_text(a.option, a.value),
                source=source_text(a),
                reason=a.skipped or "",
            )
        )
        for a in skipped
    )
    return "\n".join(lines) or None
