"""Text helpers the guardrails share: sentence spans, quoted spans, emoji.

Sentences are kept as spans of the original text, so that dropping one (a rewrite by the censor, an
unsupported claim in the grounding check) leaves the rest of the answer byte for byte as it was,
citation markers like ``[1]`` included.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int
    text: str


# A sentence ends at . ! ? … (and any closing quotes/brackets/citations after it) followed by space;
# abbreviations and decimals ("e.g.", "3.5", "U.S.") do not end one.
_ABBREVIATIONS = re.compile(
    r"(?i)(?:\b(?:e\.g|i\.e|etc|mr|mrs|ms|dr|vs|no|st|u\.s|т\.е|т\.д|т\.п|др|г|руб|ул)\.)$"
)
_EMOJI_CHARS = "\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\u2b50\u2b55"
_BOUNDARY = re.compile(
    r"[.!?…]+(?:[\"'»”)\]]*(?:\s*\[\d+(?:,\s*\d+)*\])*)?"
    rf"(?:[ \t]*[{_EMOJI_CHARS}\ufe0f\u200d]+)*(?=\s+|$)|\n\s*\n|\n(?=\s*[-*•\d])"
)


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text` (English and Russian), whitespace between them excluded."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if _ABBREVIATIONS.search(text[start:end].rstrip()):
            continue
        _add_span(text, start, end, spans)
        start = end
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[Span]) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    offset = start + len(chunk) - len(chunk.lstrip())
    if spans and not any(c.isalnum() for c in stripped):  # a trailing "😊" or "..." joins its sentence
        previous = spans.pop()
        spans.append(
            Span(previous.start, offset + len(stripped), text[previous.start : offset + len(stripped)])
        )
        return
    spans.append(Span(offset, offset + len(stripped), stripped))


def drop_spans(text: str, spans: list[Span]) -> str:
    """`text` without the given sentence spans, with the whitespace between the kept ones tidied."""
    kept = [s for s in split_sentences(text) if all((s.start, s.end) != (d.start, d.end) for d in spans)]
    return " ".join(s.text for s in kept)


_QUOTED = re.compile(r"\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|«[^»\n]{1,200}»|'[^'\n]{3,200}'(?!\w)")


def mask_quotes(text: str, placeholder: str = '"…"') -> str:
    """Quoted text replaced by a placeholder: a customer's words quoted back are not the bot's tone."""
    return _QUOTED.sub(placeholder, text)


def model_text(text: str) -> str:
    """What the tone models see: quoted customer words masked, lower-cased."""
    return mask_quotes(text).lower()


_EMOJI = re.compile(f"[{_EMOJI_CHARS}]")


def count_emoji(text: str) -> int:
    return len(_EMOJI.findall(text))


def strip_emoji(text: str) -> str:
    return _EMOJI.sub("", text)
