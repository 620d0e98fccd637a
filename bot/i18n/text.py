"""Member-facing text before it has a language: an English sentence and the values it shows.

Everything Easel tells a member is written in English in the code and marked for translation with
``_`` (``_n`` when a count picks the form, ``_p`` when a short word needs a context). The marker
does not translate: it returns a ``Text``, the gettext message id and its named values, and only
the edge that knows who reads it (the Discord side, the command line) renders it in a language
with ``bot.i18n.Lang``. So ``bot/`` never needs to know its reader, and a failure stored with a
job is shown in the language of whoever sees it later. Babel extracts every marked sentence into
the catalogs (``python3 dev.py i18n``; see the README's *Translations*).

Placeholders are ``{name}`` (``str.format``). A value is shown by its type: ``str`` as it is;
``int`` and ``float`` are quantities, written the reader's way (``1,024`` or ``1 024``), so pass
ids, pixel sizes and codes as ``str``; a nested ``Text`` in the same language; ``Duration``,
``Day``, ``Items`` and ``Amount`` as a duration, a date and a list, in the reader's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Amount(BaseModel):
    """A quantity shown with a fixed number of decimals ("50.0" MB, not "50")."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["amount"] = "amount"
    value: float
    decimals: int = Field(default=1, ge=0, le=6)


class Duration(BaseModel):
    """A length of time, shown as units in the reader's language ("1 minute, 30 seconds")."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["duration"] = "duration"
    seconds: float


class Day(BaseModel):
    """A calendar day (ISO date), shown the reader's way ("Wed, May 1")."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["day"] = "day"
    iso: str


class Items(BaseModel):
    """A list joined the reader's way: "a, b and c"; ``style="or"``: "a, b or c"; ``"plus"``:
    "a + b" (areas added together); ``"dots"``: "a · b" (a job's options)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["items"] = "items"
    items: tuple[Value, ...]
    style: Literal["standard", "or", "plus", "dots"] = "standard"


class Text(BaseModel):
    """One sentence for a member: its message id (English source), plural and values.

    ``literal`` text is not looked up (upstream wording, a name): it is shown exactly as given.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["text"] = "text"
    id: str
    plural: str | None = None
    count: int | None = None
    context: str | None = None
    values: dict[str, Value] = Field(default_factory=dict)
    literal: bool = False

    def __str__(self) -> str:
        """The English text (logs, the command line, tests)."""
        return _english(self) if _english is not None else self.id

    @classmethod
    def of(cls, text: str | Text) -> Text:
        """``text`` as it is when it is a plain string (not translatable), else unchanged."""
        return text if isinstance(text, Text) else cls(id=text, literal=True)


Value = (
    Annotated[Text | Amount | Duration | Day | Items, Field(discriminator="kind")]
    | int
    | float
    | str
)

Items.model_rebuild()
Text.model_rebuild()


# How ``str(text)`` renders English; ``bot.i18n.lang`` installs it (importing ``bot.i18n`` at all
# does), so this module needs no Babel and nothing imports in a circle.
_english: Callable[[Text], str] | None = None


def use_english(render: Callable[[Text], str]) -> None:
    """Make ``str(text)`` render with ``render`` (the source language's ``Lang``)."""
    global _english
    _english = render


def _plain_as_literal(value: Any) -> Any:
    return Text(id=value, literal=True) if isinstance(value, str) else value


#: A ``Text`` field that also reads a plain string (rows stored before Easel spoke languages).
StoredText = Annotated[Text, BeforeValidator(_plain_as_literal)]


def _(message: str, /, **values: Value) -> Text:
    """Mark ``message`` for translation; ``{name}`` placeholders take ``values``."""
    return Text(id=message, values=values)


def _n(singular: str, plural: str, count: int, /, **values: Value) -> Text:
    """Mark a sentence whose form depends on ``count`` (shown as ``{count}``)."""
    return Text(id=singular, plural=plural, count=count, values={"count": count, **values})


def _p(context: str, message: str, /, **values: Value) -> Text:
    """Mark a short ``message`` that means one thing in ``context`` (a button, a menu label)."""
    return Text(id=message, context=context, values=values)


def literal(text: str) -> Text:
    """Text shown exactly as given, in every language (upstream wording, names, codes)."""
    return Text(id=text, literal=True)
