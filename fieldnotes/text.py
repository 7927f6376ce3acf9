"""The stored form of a fieldnote's text. Plain Python, no Django.

Offsets everywhere in Triangulate are Unicode code points of this form: NFC, `\\n` line ends, no
byte-order mark. Normalising is idempotent, so stored text passes through unchanged.
"""

import unicodedata

BOM = "\ufeff"


def normalise_text(text: str) -> str:
    if text.startswith(BOM):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def is_normalised(text: str) -> bool:
    return normalise_text(text) == text


def paragraphs(text: str) -> list[tuple[int, str]]:
    """Split on blank lines; each paragraph with the offset of its first character."""
    result = []
    offset = 0
    for block in text.split("\n\n"):
        stripped = block.strip("\n")
        if stripped:
            result.append((offset + block.index(stripped[0]), stripped))
        offset += len(block) + 2
    return result


def word_count(text: str) -> int:
    return len(text.split())
