"""Words of the keyword index: both backends see the same words because they
are made here, not by the database (see the package's docstring)."""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Iterable

MAX_DOCUMENT_CHARS = 200_000
# PostgreSQL refuses lexemes over 2 KB and keeps 256 positions per lexeme,
# the last at most 16383; SQLite follows the same limits so both agree.
MAX_WORD_CHARS = 255
MAX_POSITIONS = 256
MAX_POSITION = 16383

# Chinese and Japanese scripts: kana, CJK ideographs and their extensions.
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_LATIN_DIACRITICS = re.compile("[\u0300-\u036f]")


def _char_class(ranges) -> str:
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


@functools.cache
def _word_pattern() -> re.Pattern:
    """Letters, marks and digits (Unicode categories L, M, N); one CJK character
    at a time. Python's `\\w` leaves out combining marks, which would cut Indic
    words apart."""
    cjk = [False] * (sys.maxunicode + 1)
    for low, high in _CJK_RANGES:
        cjk[low:high + 1] = [True] * (high - low + 1)
    ranges = {True: [], False: []}
    start, start_cjk = None, False
    for point in range(sys.maxunicode + 2):
        inside = point <= sys.maxunicode and unicodedata.category(chr(point))[0] in "LMN"
        if start is not None and (not inside or cjk[point] != start_cjk):
            ranges[start_cjk].append((start, point - 1))
            start = None
        if inside and start is None:
            start, start_cjk = point, cjk[point]
    return re.compile(f"[{_char_class(ranges[True])}]|[{_char_class(ranges[False])}]+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _LATIN_DIACRITICS.sub("", text))


_ASCII_WORD = re.compile("[a-z0-9]+")


def words(text: str) -> list[str]:
    text = text[:MAX_DOCUMENT_CHARS]
    if text.isascii():
        # Most comments: the same words, several times faster than the Unicode class.
        found = _ASCII_WORD.findall(text.lower())
    else:
        found = _word_pattern().findall(normalise(text))
    return [w for w in found if len(w) <= MAX_WORD_CHARS]


def _texts(messages) -> Iterable[str]:
    for message in messages or ():
        for part in ("subject", "body"):
            value = (message or {}).get(part) if isinstance(message, dict) else None
            if isinstance(value, dict) and isinstance(value.get("text"), str):
                yield value["text"]


def keyword_document(messages, dialect: str) -> str:
    """What `comment_search.document` holds for a comment with these messages."""
    found = words("\n".join(_texts(messages)))
    if dialect != "postgresql":
        return " ".join(found)
    positions: dict[str, list[int]] = {}
    for number, word in enumerate(found, start=1):
        at = positions.setdefault(word, [])
        if len(at) < MAX_POSITIONS and (not at or at[-1] < MAX_POSITION):
            at.append(min(number, MAX_POSITION))
    return " ".join(f"{_quoted(w)}:{','.join(map(str, at))}" for w, at in positions.items())


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def query_terms(query: str) -> list[list[str]]:
    """Words and quoted phrases, each as its list of words."""
    terms = []
    for match in re.finditer(r'"([^"]*)"?|[^\s"]+', query):
        found = words(match.group(1) if match.group(1) is not None else match.group(0))
        if found:
            terms.append(found)
    return terms


def _fts5_query(terms: list[list[str]]) -> str:
    # Each term is an FTS5 phrase; a space between phrases means AND.
    return " ".join('"' + " ".join(t) + '"' for t in terms)


def _tsquery(terms: list[list[str]]) -> str:
    return " & ".join("(" + " <-> ".join(_quoted(w) for w in t) + ")" for t in terms)
