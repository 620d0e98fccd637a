"""The options ``/imagine``, ``/edit`` and ``/blend`` share, declared once.

The output options and the numbered image attachments are added after each command's own options
(``cogs._signature``) and handed to it gathered: an ``ImageOptions`` and the attachments given, in
option order. A command declares only what is its own (its prompt, its required images) and the
texts that differ.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice, Range

from bot.client import Interaction
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.defaults import OptionField
from cogs._options import FORMAT_CHOICES, parse_choice
from cogs._signature import Callback, add_options, optional

Suggest = Callable[[Interaction, str], Coroutine[Any, Any, list[Choice[str]]]]

#: The output options in the order Discord shows them, after each command's own options.
_OUTPUTS = (
    ("ratio", str),
    ("resolution", str),
    ("quality", str),
    ("n", Range[int, 1, 10]),
    ("output_format", str),
    ("compression", Range[int, 0, 100]),
)
_SHARED_HELP = {
    "output_format": "File format (default PNG)",
    "compression": "JPEG quality 0-100, 100 is best (JPEG only)",
}


@dataclass(frozen=True)
class ImageOptions:
    """The output options as the member typed them (None: left out)."""

    ratio: str | None = None
    resolution: str | None = None
    quality: str | None = None
    n: int | None = None
    output_format: str | None = None
    compression: int | None = None

    def typed(self) -> dict[OptionField, Any]:
        """Everything but the ratio and compression, parsed; ``InputError`` names a bad one.

        The ratio is left to the command: an edit's default is its image's shape.
        """
        return {
            "resolution": parse_choice(Resolution, self.resolution, "resolution"),
            "quality": parse_choice(Quality, self.quality, "quality"),
            "output_format": parse_choice(OutputFormat, self.output_format, "format"),
            "n": self.n,
        }

    def ratio_choice(self) -> Ratio | None:
        """The typed ratio, parsed (None: left out)."""
        return parse_choice(Ratio, self.ratio, "ratio")


@dataclass(frozen=True)
class Outputs:
    """How a command describes and suggests its output options.

    ``help`` describes ratio, resolution, quality and n (format and compression read alike
    everywhere). Tiers and quality depend on the provider, so they are autocompleted
    (``resolution``, ``quality``); every provider offers every ratio and format, so those are
    fixed choices (``ratios``).
    """

    help: Mapping[str, str]
    ratios: list[Choice[str]]
    resolution: Suggest
    quality: Suggest


@dataclass(frozen=True)
class Numbered:
    """Optional attachments ``{prefix}{first}`` … ``{prefix}{last}`` (``first`` 1 is ``prefix``)."""

    prefix: str
    first: int
    last: int
    description: str

    def names(self) -> list[str]:
        """The option names, in order."""
        return [
            self.prefix if n == 1 else f"{self.prefix}{n}" for n in range(self.first, self.last + 1)
        ]


def image_options(outputs: Outputs, images: Numbered) -> Callable[[Callback], Callback]:
    """Add the output options and the numbered ``images`` after a command callback's own.

    The callback takes its own options, then keyword-only ``options: ImageOptions`` and
    ``images: list[discord.Attachment]`` (the numbered ones that were given, in order). A
    ``describe`` above this decorator may override a description it sets.
    """
    names = images.names()
    added = [optional(name, annotation) for name, annotation in _OUTPUTS]
    added += [optional(name, discord.Attachment) for name in names]

    def gather(values: dict[str, Any]) -> dict[str, Any]:
        given = [values[name] for name in names if values[name] is not None]
        return {"options": ImageOptions(**{n: values[n] for n, _ in _OUTPUTS}), "images": given}

    def decorate(callback: Callback) -> Callback:
        command = add_options(added, gather)(callback)
        described = {**outputs.help, **_SHARED_HELP, **dict.fromkeys(names, images.description)}
        command = app_commands.rename(output_format="format")(command)
        command = app_commands.describe(**described)(command)
        command = app_commands.choices(ratio=outputs.ratios, output_format=FORMAT_CHOICES)(command)
        return app_commands.autocomplete(resolution=outputs.resolution, quality=outputs.quality)(
            command
        )

    return decorate
