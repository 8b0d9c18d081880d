"""Citation markers in an answer: which `[n]` are valid, and the (index, title, URL) list the API returns."""

from __future__ import annotations

import re

from pydantic import BaseModel

from second_line.types import Passage

_MARKER = re.compile(r"\[(\d{1,2})\]")
_VERBOSE_MARKER = re.compile(r"\[(?:passage|source|doc(?:ument)?)\s*#?(\d{1,2})\]", re.IGNORECASE)
_LIST_MARKER = re.compile(r"\[(\d{1,2})\s*,\s*(\d{1,2})\]")


class Citation(BaseModel):
    index: int
    title: str
    url: str | None = None


def clean_citations(text: str, passage_count: int) -> str:
    """Normalise `[Passage 2]` and `[1, 2]` to `[2]`, `[1][2]`; drop markers that point at no passage
    ([0], [7] of 3 passages); tidy the spaces they leave."""
    text = _LIST_MARKER.sub(r"[\1][\2]", _VERBOSE_MARKER.sub(r"[\1]", text))
    cleaned = _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= passage_count else "", text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()


def cited_indices(text: str, passage_count: int) -> list[int]:
    """Valid markers in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        if 1 <= n <= passage_count:
            seen.setdefault(n, None)
    return list(seen)


def citations_for(text: str, passages: list[Passage]) -> list[Citation]:
    return [
        Citation(index=i, title=passages[i - 1].title, url=passages[i - 1].url)
        for i in cited_indices(text, len(passages))
    ]
