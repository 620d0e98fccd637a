"""Options several commands share, declared once and added to each callback's signature.

discord.py reads a command's options from its callback's signature, so a shared group of options
(``/imagine``'s and ``/edit``'s output options, the defaults ``/settings`` and ``/easel defaults``
set) would otherwise be written out in every command. ``add_options`` appends the group after a
callback's own options and hands it to the callback gathered into keyword-only arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar, cast

from discord.utils import resolve_annotation

Callback = TypeVar("Callback", bound=Callable[..., Coroutine[Any, Any, None]])
Gather = Callable[[dict[str, Any]], dict[str, Any]]


def optional(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """An option that may be left out (``None`` unless ``default`` says otherwise)."""
    if default is None:
        annotation = annotation | None
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def add_options(
    added: Sequence[inspect.Parameter], gather: Gather
) -> Callable[[Callback], Callback]:
    """Append ``added`` after a callback's own options; ``gather`` turns their values (by name)
    into the callback's keyword-only arguments.

    Typed as returning the callback unchanged, like discord.py's own decorators: Discord and the
    type checker see the callback's declared options; the signature discord.py reads at runtime
    is the extended one.
    """

    def decorate(callback: Callback) -> Callback:
        # Resolved here: discord.py would read string annotations in this module's globals.
        own = [
            p.replace(annotation=resolve_annotation(p.annotation, callback.__globals__, None, {}))
            if isinstance(p.annotation, str)
            else p
            for p in inspect.signature(callback).parameters.values()
            if p.kind is not inspect.Parameter.KEYWORD_ONLY
        ]
        names = [p.name for p in added]

        @functools.wraps(callback)
        async def with_options(*args: Any, **values: Any) -> None:
            group = {name: values.pop(name, None) for name in names}
            await callback(*args, **values, **gather(group))

        with_options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [*own, *added], return_annotation=None
        )
        return cast(Callback, with_options)

    return decorate
