"""Carry excerpts over to a revised fieldnote text. Plain Python, no Django.

A diff of the old and new text says where each old character went: either it survived unchanged
at a new offset, or it was deleted or replaced, and then it went to the replacement text at that
place (empty for a deletion). A span follows its first and last characters. None is dropped: a
span whose every character was deleted is placed on the nearest word for a person to review.

Offsets are Unicode code points (Python `str` indices) of normalised text; line ends must already
be `\\n` (see `fieldnotes.text.normalise_text`).
"""

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from itertools import accumulate
from typing import NamedTuple


class Status(StrEnum):
    SAME = "same"  # same offsets, same text
    MOVED = "moved"  # same text, new offsets (text was inserted or deleted before it)
    CHANGED = "changed"  # the span survives but its text differs
    DELETED = "deleted"  # every character was deleted; placed on the nearest word for review


@dataclass(frozen=True)
class Reanchored:
    start: int
    end: int
    status: Status
    old_text: str
    new_text: str


def reanchor(old: str, new: str, spans: Sequence[tuple[int, int]]) -> list[Reanchored]:
    """Each span of `old` carried over to `new`: one result per span, in the same order."""
    _check(old, new, spans)
    if not spans:
        return []
    where = _CharacterMap(old, new)
    return [_reanchor_span(old, new, where, start, end) for start, end in spans]


def _check(old: str, new: str, spans: Sequence[tuple[int, int]]) -> None:
    if not new:
        raise ValueError("The new text is empty: there is nowhere to carry the excerpts to.")
    for index, (start, end) in enumerate(spans):
        if not 0 <= start < end <= len(old):
            raise ValueError(
                f"Span #{index} ({start}, {end}) is not a span of the old text: "
                f"need 0 <= start < end <= {len(old)}."
            )


def _reanchor_span(old: str, new: str, where: "_CharacterMap", start: int, end: int) -> Reanchored:
    old_text = old[start:end]
    new_start = where.image(start).start
    new_end = where.image(end - 1).end
    if new_start == new_end:
        new_start, new_end = _nearest_word(new, new_start)
        status = Status.DELETED
    elif new[new_start:new_end] != old_text:
        status = Status.CHANGED
    elif (new_start, new_end) == (start, end):
        status = Status.SAME
    else:
        status = Status.MOVED
    return Reanchored(new_start, new_end, status, old_text, new[new_start:new_end])


class _Image(NamedTuple):
    """Where one old character went: one new character if it survived, else the replacement."""

    start: int
    end: int
    survived: bool


_Opcode = tuple[str, int, int, int, int]  # as difflib's get_opcodes(): tag, i1, i2, j1, j2


class _CharacterMap:
    """Old character offset -> its _Image in the new text."""

    def __init__(self, old: str, new: str):
        # Insertions hold no old character, so they are nobody's image: text inserted right at a
        # span's edge stays outside it, text inserted inside it lies between its first and last.
        self._blocks = [block for block in _diff(old, new) if block[2] > block[1]]
        self._block_starts = [block[1] for block in self._blocks]

    def image(self, offset: int) -> _Image:
        tag, i1, _, j1, j2 = self._blocks[bisect_right(self._block_starts, offset) - 1]
        if tag == "equal":
            return _Image(j1 + offset - i1, j1 + offset - i1 + 1, survived=True)
        return _Image(j1, j2, survived=False)


# The parts a text is compared by, coarsest first; each pattern's matches add up to the text.
_PARTS = (
    # A line and the blank lines after it. Blank lines on their own would be the most repeated
    # line by far, and with autojunk off SequenceMatcher slows down as the square of repeats.
    re.compile(r"[^\n]*\n+|[^\n]+"),
    # A sentence and the spaces after it: a paragraph pasted as one long line is no slower.
    re.compile(r"[^.!?]*[.!?]+\s*|[^.!?]+"),
    # A word and the spaces after it (punctuation stays on its word), or spaces alone.
    re.compile(r"\S+\s*|\s+"),
)
# Comparing characters takes time proportional to old length x new length in the worst case
# (2,000 x 2,000 unrelated characters: about 0.15 s). A longer stretch with no word in common is
# counted as replaced as a whole rather than compared.
_MAX_CHARACTER_PAIRS = 4_000_000


def _diff(old: str, new: str, parts: Sequence[re.Pattern[str]] = _PARTS) -> Iterator[_Opcode]:
    """Character opcodes covering both texts: lines, then sentences, words, characters.

    Only what differs at one level is compared at the next, finer one, so a long text with a few
    edits costs little more than a comparison of its lines. autojunk stays off: its heuristic
    ignores frequent elements (spaces, "e") of long sequences and then misses obvious matches.
    """
    if not parts:
        yield from _diff_characters(old, new)
        return
    old_parts, new_parts = parts[0].findall(old), parts[0].findall(new)
    old_at = [0, *accumulate(map(len, old_parts))]  # part index -> character offset
    new_at = [0, *accumulate(map(len, new_parts))]
    matcher = SequenceMatcher(None, old_parts, new_parts, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a1, a2, b1, b2 = old_at[i1], old_at[i2], new_at[j1], new_at[j2]
        if tag != "replace":
            yield tag, a1, a2, b1, b2
            continue
        for finer_tag, c1, c2, d1, d2 in _diff(old[a1:a2], new[b1:b2], parts[1:]):
            yield finer_tag, a1 + c1, a1 + c2, b1 + d1, b1 + d2


def _diff_characters(old: str, new: str) -> list[_Opcode]:
    if len(old) * len(new) > _MAX_CHARACTER_PAIRS:
        return [("replace", 0, len(old), 0, len(new))]
    return SequenceMatcher(None, old, new, autojunk=False).get_opcodes()


_WORD = re.compile(r"\w+")
_NON_SPACE = re.compile(r"\S")


def _nearest_word(text: str, offset: int) -> tuple[int, int]:
    """The word at or just after `offset`, else the last word before it.

    Without any word, the nearest non-space character (after, else before); in a text of only
    spaces, the character at `offset`. Always a non-empty span of a non-empty `text`.
    """
    if match := _WORD.search(text, offset):
        # Deleting the "u" of "colour" leaves `offset` mid-word: take the whole word.
        return _word_start(text, match.start()), match.end()
    # No word at or after `offset`, so the text's last word is the nearest one before it.
    if (end := _last_end_before(text, offset, _WORD)) is not None:
        return _word_start(text, end), end
    if match := _NON_SPACE.search(text, offset):
        return match.start(), match.start() + 1
    if (end := _last_end_before(text, offset, _NON_SPACE)) is not None:
        return end - 1, end
    at = min(offset, len(text) - 1)
    return at, at + 1


def _word_start(text: str, offset: int) -> int:
    while offset > 0 and _WORD.match(text, offset - 1, offset):
        offset -= 1
    return offset


def _last_end_before(text: str, offset: int, pattern: re.Pattern[str]) -> int | None:
    """The end of the last character before `offset` that `pattern` matches, if any."""
    for end in range(offset, 0, -1):
        if pattern.match(text, end - 1, end):
            return end
    return None
