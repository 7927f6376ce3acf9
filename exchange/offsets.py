"""How REFI-QDA files count positions, and their conversion to stored offsets. Plain Python.

The standard counts Unicode code points of the text as given, but tools differ: NVivo counts
UTF-16 code units (an emoji is two) with CRLF as two, ATLAS.ti counts code points with CRLF as
one. `detect_scheme` starts from the tool the file names and confirms the choice on the data;
`to_stored` turns a source's text into its stored form (`fieldnotes.text.normalise_text`: NFC,
`\\n`, no BOM) and its positions into code points of that stored text.
"""

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field

from fieldnotes.text import BOM, normalise_text

CODEPOINTS = "codepoints"
UTF16_CRLF2 = "utf16_crlf2"
CRLF1 = "crlf1"
SCHEMES = (CODEPOINTS, UTF16_CRLF2, CRLF1)
DESCRIPTIONS = {
    CODEPOINTS: "Unicode code points, as the standard says",
    UTF16_CRLF2: "UTF-16 code units with CRLF as two, as NVivo counts",
    CRLF1: "code points with CRLF as one, as ATLAS.ti counts",
}
# How much lower the named tool's share of word-boundary ends may be than the best scheme's
# before the data overrules the tool: people do select inside words now and then.
BOUNDARY_TOLERANCE = 0.1

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Outside:
    """The first selection that does not fit its text under a scheme."""

    source: str  # the key of `raw_text_by_source`
    index: int  # the selection's place in its source's list, from 0
    start: int
    end: int
    length: int  # the text's length under the scheme


@dataclass(frozen=True)
class SchemeCheck:
    scheme: str
    selections: int
    outside: int  # selections not inside their text
    first_outside: Outside | None
    on_boundaries: int  # selection starts and ends on word boundaries (inside selections only)

    @property
    def inside(self) -> bool:
        return self.outside == 0

    @property
    def boundary_share(self) -> float | None:
        ends = 2 * (self.selections - self.outside)
        return self.on_boundaries / ends if ends else None


@dataclass(frozen=True)
class SchemeChoice:
    scheme: str | None  # None: no scheme keeps every selection inside its text; refuse
    reason: str
    claimed: str
    checks: dict[str, SchemeCheck] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "scheme": self.scheme,
            "reason": self.reason,
            "claimed": self.claimed,
            "checks": {
                name: {
                    "selections": check.selections,
                    "outside": check.outside,
                    "boundary_share": check.boundary_share,
                }
                for name, check in self.checks.items()
            },
        }


def scheme_for_origin(origin: str) -> str:
    """The scheme the exporting tool is known to use; the standard's for any other tool."""
    name = (origin or "").lower()
    if "nvivo" in name:
        return UTF16_CRLF2
    if "atlas" in name:
        return CRLF1
    return CODEPOINTS


def text_length(raw_text: str, scheme: str) -> int:
    text = _without_bom(raw_text)
    if scheme == UTF16_CRLF2:
        return len(text) + len(_ASTRAL.findall(text))
    if scheme == CRLF1:
        return len(text) - text.count("\r\n")
    return len(text)


def detect_scheme(
    origin: str,
    raw_text_by_source: dict[str, str],
    selections_by_source: dict[str, list[tuple[int, int]]],
    *,
    names: dict[str, str] | None = None,
) -> SchemeChoice:
    """Which scheme the positions are in, why (one sentence), and every scheme's checks.

    `names` gives the sources' names for the refusal message (default: the keys).
    """
    claimed = scheme_for_origin(origin)
    checks = {
        scheme: _check(scheme, raw_text_by_source, selections_by_source) for scheme in SCHEMES
    }
    tool = f"The file comes from {origin}" if origin else "The file names no tool"
    fitting = [scheme for scheme in SCHEMES if checks[scheme].inside]
    if not fitting:
        return SchemeChoice(None, _refusal(checks[claimed], names or {}), claimed, checks)
    same = _schemes_agree(raw_text_by_source)
    if claimed in fitting:
        best = max(fitting, key=lambda scheme: _share(checks[scheme]))
        if same or _share(checks[claimed]) >= _share(checks[best]) - BOUNDARY_TOLERANCE:
            return SchemeChoice(
                claimed, _confirmed(tool, claimed, checks[claimed], same), claimed, checks
            )
        chosen = best
        why = (
            f"only {_percent(checks[claimed])} of selection starts and ends fall on word "
            f"boundaries under that count against {_percent(checks[best])} under {best}"
        )
    else:
        chosen = max(fitting, key=lambda scheme: (_share(checks[scheme]), -SCHEMES.index(scheme)))
        why = (
            f"{_selections(checks[claimed].outside)} would fall outside their text under that "
            f"count, while under {chosen} every selection fits and "
            f"{_percent(checks[chosen])} of their starts and ends fall on word boundaries"
        )
    reason = (
        f"{tool}, which counts {DESCRIPTIONS[claimed]} ({claimed}), but {why}; "
        f"positions were read as {DESCRIPTIONS[chosen]} ({chosen})."
    )
    return SchemeChoice(chosen, reason, claimed, checks)


def _check(scheme: str, texts: dict[str, str], selections: dict[str, list[tuple[int, int]]]):
    total = outside = on_boundaries = 0
    first_outside = None
    for key, spans in selections.items():
        raw = texts.get(key, "")
        length = text_length(raw, scheme)
        mapper = _RawMap(_without_bom(raw), scheme) if spans else None
        for index, (start, end) in enumerate(spans):
            total += 1
            if min(start, end) < 0 or max(start, end) > length:
                outside += 1
                if first_outside is None:
                    first_outside = Outside(key, index, start, end, length)
                continue
            for position in (start, end):
                on_boundaries += _on_word_boundary(mapper.text, mapper.code_point(position))
    return SchemeCheck(scheme, total, outside, first_outside, on_boundaries)


def _on_word_boundary(text: str, index: int) -> bool:
    if index <= 0 or index >= len(text):
        return True
    return not (_WORD.match(text[index - 1]) and _WORD.match(text[index]))


def _schemes_agree(texts: dict[str, str]) -> bool:
    return not any("\r\n" in text or _ASTRAL.search(text) for text in texts.values())


def _share(check: SchemeCheck) -> float:
    share = check.boundary_share
    return -1.0 if share is None else share


def _percent(check: SchemeCheck) -> str:
    share = check.boundary_share
    return "none" if share is None else f"{round(100 * share)} %"


def _selections(count: int) -> str:
    return "1 selection" if count == 1 else f"{count} selections"


def _confirmed(tool: str, scheme: str, check: SchemeCheck, same: bool) -> str:
    if not check.selections:
        return f"{tool}, which counts {DESCRIPTIONS[scheme]} ({scheme}); there are no selections."
    fits = (
        f"every selection fits its text and {_percent(check)} of their starts and ends fall on "
        "word boundaries"
    )
    if same:
        fits += (
            "; the texts have no CRLF line ends and no characters outside the Basic Multilingual "
            "Plane, so every way of counting gives the same positions"
        )
    return f"{tool}, which counts {DESCRIPTIONS[scheme]} ({scheme}): {fits}."


def _refusal(check: SchemeCheck, names: dict[str, str]) -> str:
    first = check.first_outside
    name = names.get(first.source, first.source)
    return (
        f"Selection {first.index + 1} of source “{name}” ({first.start}–{first.end}) falls "
        f"outside its text, which is {first.length} characters long counting "
        f"{DESCRIPTIONS[check.scheme]}; no way of counting positions fits every selection."
    )


def to_stored(
    raw_text: str, positions: list[tuple[int, int]], scheme: str
) -> tuple[str, list[tuple[int, int]]]:
    """The stored text and each (start, end) as code points of it.

    A start inside a character (between the halves of a surrogate pair, inside a sequence NFC
    composes) moves back to the character's start and an end forward to its end, so a selection
    keeps every character it touched. Positions must be inside the text (`detect_scheme` checks).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown offset scheme {scheme!r}.")
    text = _without_bom(raw_text)
    stored = normalise_text(text)
    raw_map = _RawMap(text, scheme)
    nfc_map = _NfcMap(raw_map.lf_text, stored)
    converted = []
    for start, end in positions:
        converted.append(
            (
                nfc_map.floor(raw_map.lf_floor(start)),
                nfc_map.ceil(raw_map.lf_ceil(end)),
            )
        )
    return stored, converted


def _without_bom(text: str) -> str:
    return text[1:] if text.startswith(BOM) else text


class _RawMap:
    """Raw positions under a scheme to indices of the text with `\\n` line ends (`lf_text`).

    Only two kinds of character count differently from one: the CR of a CRLF (one raw unit or
    none, and gone from `lf_text`) and a character outside the BMP (two UTF-16 units). They are
    kept sorted with the running difference, so each position is one binary search.
    """

    def __init__(self, text: str, scheme: str):
        self.text = text
        self.lf_text = text.replace("\r\n", "\n").replace("\r", "\n")
        # For each special character: its raw start, raw units, code point index, lf index.
        self._raw_starts: list[int] = []
        self._specials: list[tuple[int, int, int, int]] = []
        crlf_before = astral_before = 0
        pattern = "\r\n|[\U00010000-\U0010ffff]" if scheme == UTF16_CRLF2 else "\r\n"
        for match in re.finditer(pattern, text):
            index = match.start()
            extra = astral_before if scheme == UTF16_CRLF2 else 0
            dropped = crlf_before if scheme == CRLF1 else 0
            raw_start = index + extra - dropped
            lf_index = index - crlf_before
            if match.group() == "\r\n":
                units = 0 if scheme == CRLF1 else 1
                crlf_before += 1
            else:
                units = 2
                astral_before += 1
            self._raw_starts.append(raw_start)
            self._specials.append((raw_start, units, index, lf_index))

    def _locate(self, position: int) -> tuple[int, int, bool]:
        """(code point index, lf index, inside a two-unit character) of a raw position."""
        at = bisect_right(self._raw_starts, position) - 1
        # A CRLF's CR that counts zero shares its raw start with the LF: the last special whose
        # start is at or before the position governs it.
        if at < 0:
            return position, position, False
        raw_start, units, index, lf_index = self._specials[at]
        if position < raw_start + units:
            return index, lf_index, position > raw_start
        after = position - (raw_start + units)
        if units == 2:  # a character outside the BMP: one code point, one lf character
            return index + 1 + after, lf_index + 1 + after, False
        # The CR of a CRLF: one code point (counted as `units`), no lf character.
        return index + 1 + after - (1 - units), lf_index + after, False

    def code_point(self, position: int) -> int:
        return self._locate(position)[0]

    def lf_floor(self, position: int) -> int:
        return self._locate(position)[1]

    def lf_ceil(self, position: int) -> int:
        _, lf_index, inside = self._locate(position)
        return lf_index + 1 if inside else lf_index


class _NfcMap:
    """Indices of `lf_text` to indices of its NFC form, by stretches NFC changes."""

    def __init__(self, lf_text: str, stored: str):
        self._starts: list[int] = []
        self._chunks: list[tuple[int, int, int, int]] = []  # lf start, lf end, stored start, end
        if lf_text == stored:
            return
        shift = 0
        for lf_start, lf_end in _normalisation_chunks(lf_text):
            piece = lf_text[lf_start:lf_end]
            composed = unicodedata.normalize("NFC", piece)
            if composed != piece:
                self._starts.append(lf_start)
                stored_start = lf_start + shift
                self._chunks.append((lf_start, lf_end, stored_start, stored_start + len(composed)))
                shift += len(composed) - len(piece)

    def _map(self, index: int, ceil: bool) -> int:
        at = bisect_right(self._starts, index) - 1
        if at < 0:
            return index
        lf_start, lf_end, stored_start, stored_end = self._chunks[at]
        if index == lf_start:
            return stored_start
        if index < lf_end:
            return stored_end if ceil else stored_start
        return stored_end + (index - lf_end)

    def floor(self, index: int) -> int:
        return self._map(index, ceil=False)

    def ceil(self, index: int) -> int:
        return self._map(index, ceil=True)


def _normalisation_chunks(text: str):
    """(start, end) stretches of `text` that NFC normalises independently of each other.

    A stretch ends before a character that starts with a starter (canonical combining class 0)
    and does not compose with what precedes it; nothing after that point can reach back.
    """
    start = 0
    for index in range(1, len(text)):
        char = text[index]
        if unicodedata.combining(char) or unicodedata.combining(
            unicodedata.normalize("NFD", char)[0]
        ):
            continue
        before = text[start:index]
        if unicodedata.normalize("NFC", before + char) == unicodedata.normalize(
            "NFC", before
        ) + unicodedata.normalize("NFC", char):
            yield start, index
            start = index
    if text:
        yield start, len(text)
