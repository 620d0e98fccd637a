"""Member text as it reads on screen: one normaliser for what is checked, stored, sent and shown.

Discord shows a prompt after the Unicode bidirectional algorithm and without its invisible
characters, so a prompt can read differently from its code points: ``U+202E drowdab`` displays as
``badword``, and a prompt of zero-width spaces displays as nothing. ``visible_text`` returns the
text as a reader sees it: explicit direction overrides resolved into reading order, every other
direction control and every invisible or format character removed. Blocked-term checks, length
limits, the image API and Discord all get this text, so none of them can disagree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

LRE, RLE, PDF, LRO, RLO = "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_EMBEDDINGS = frozenset((LRE, RLE, LRO, RLO))
_ISOLATES = frozenset((LRI, RLI, FSI))
#: Every character that only steers the bidirectional algorithm (marks, embeddings, overrides,
#: isolates). None is ever kept.
BIDI_CONTROLS = frozenset((*_EMBEDDINGS, *_ISOLATES, PDF, PDI, "\u061c", "\u200e", "\u200f"))
_PARAGRAPH_BREAKS = frozenset("\n\r\x1c\x1d\x1e\x85\u2029")
_RTL_CLASSES = frozenset(("R", "AL"))
# Brackets show mirrored where an override makes them right-to-left.
_MIRRORED = str.maketrans("()[]{}<>«»", ")(][}{><»«")

ZWNJ, ZWJ = "\u200c", "\u200d"
#: Letters and symbols that render as blank space (Hangul fillers, the blank braille pattern):
#: they count as spaces, so a prompt of them is blank.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_KEPT_CONTROLS = frozenset("\t\n\r")
#: Text made only of printable ASCII and the kept controls reads as it is written.
_PLAIN_ASCII = re.compile(r"[\t\n\r\x20-\x7e]*")


def _is_variation_selector(ch: str) -> bool:
    code = ord(ch)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _is_noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


@dataclass
class _Span:
    """Text under one direction control, up to its closing PDF or PDI (or the paragraph end)."""

    opener: str
    items: list[str | _Span] = field(default_factory=list)

    def render(self) -> str:
        """The span's text in reading order: an RLO span shows its characters reversed."""
        parts = [item.render() if isinstance(item, _Span) else item for item in self.items]
        if self.opener != RLO:
            return "".join(parts)
        parts.reverse()
        # A right-to-left script under the override still reads right to left, as typed.
        out: list[str] = []
        run: list[str] = []
        for part in parts:
            if len(part) == 1 and unicodedata.bidirectional(part) in _RTL_CLASSES:
                run.append(part)
                continue
            out.extend(reversed(run))
            run.clear()
            out.append(part.translate(_MIRRORED) if len(part) == 1 else part)
        out.extend(reversed(run))
        return "".join(out)


def _resolve_bidi(text: str) -> str:
    """Resolve explicit overrides into reading order and drop every direction control.

    Only overrides change the order of letters within a word; embeddings, isolates and marks
    move whole runs (when the text says what it says, a run of Latin letters keeps its order),
    so dropping them leaves each word as typed. Unclosed controls end with the paragraph.
    """
    root = _Span("")
    stack = [root]
    for ch in text:
        if ch in _EMBEDDINGS or ch in _ISOLATES:
            span = _Span(ch)
            stack[-1].items.append(span)
            stack.append(span)
        elif ch == PDF:
            if len(stack) > 1 and stack[-1].opener in _EMBEDDINGS:
                stack.pop()
        elif ch == PDI:
            if any(span.opener in _ISOLATES for span in stack):
                while stack.pop().opener not in _ISOLATES:
                    pass
        elif ch in _PARAGRAPH_BREAKS:
            del stack[1:]
            root.items.append(ch)
        elif ch not in BIDI_CONTROLS:
            stack[-1].items.append(ch)
    return root.render()


def _joins_script(before: str, after: str) -> bool:
    """Whether a zero-width (non-)joiner sits inside a word of a script or an emoji sequence
    that uses it (Persian, Indic scripts, 👩‍💻), where it changes how the text renders."""
    if not before or not after or before.isascii() or after.isascii() or after in _BLANK_LOOKING:
        return False
    return unicodedata.category(before)[0] in "LMS" and unicodedata.category(after)[0] in "LMS"


def visible_text(text: str) -> str:
    """``text`` as it reads on screen, with nothing invisible left in it.

    Direction overrides are resolved into reading order and every direction control removed;
    format characters (zero-width spaces and joiners, word joiners, soft hyphens, tag
    characters, …), control characters other than tab and newlines, lone surrogates and
    noncharacters are removed; other whitespace controls and blank-looking fillers become
    spaces. Kept: a zero-width joiner
    or non-joiner inside a non-Latin word or emoji sequence, and one variation selector after
    a visible character (emoji presentation). Idempotent.
    """
    if _PLAIN_ASCII.fullmatch(text):  # most prompts: nothing to resolve or remove
        return text
    if any(ch in BIDI_CONTROLS for ch in text):
        text = _resolve_bidi(text)
    out: list[str] = []
    for index, ch in enumerate(text):
        if ch.isascii() and (ch.isprintable() or ch in _KEPT_CONTROLS):
            out.append(ch)
            continue
        if ch in _BLANK_LOOKING:
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if ch in (ZWJ, ZWNJ):
            after = text[index + 1] if index + 1 < len(text) else ""
            if out and _joins_script(out[-1], after):
                out.append(ch)
            continue
        if category == "Cc" and ch.isspace():
            out.append(" ")
            continue
        if category in ("Cf", "Cc", "Cs") or _is_noncharacter(ch):
            continue
        if _is_variation_selector(ch):
            previous = out[-1] if out else ""
            if previous and not previous.isspace() and not _is_variation_selector(previous):
                out.append(ch)
            continue
        out.append(ch)
    return "".join(out)


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only spaces, invisible characters and lone marks."""
    if _PLAIN_ASCII.fullmatch(text):
        return not text.strip()
    return all(unicodedata.category(ch)[0] in "ZCM" for ch in visible_text(text))
