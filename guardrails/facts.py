"""The hard rule of the grounding check: every number, amount, percentage, date and product name in a
sentence must appear in the retrieved passages.

Numbers are compared by value ("1,000" = "1000", "$25.00" = "25"), names case-insensitively. A name is a
capitalised word that does not start the sentence, or an acronym ("FDIC", "APR"); terms the bank always
may say (its own name, "I") are allowed by configuration.
"""

from __future__ import annotations

import re

_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?(?![\w])")
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё][\w'’-]*")
_ACRONYM = re.compile(r"^[A-ZА-ЯЁ]{2,}s?$")
_COMMON_CAPITALISED = frozenset(
    [
        "i",
        "i'm",
        "i'll",
        "i've",
        "i'd",
        "you",
        "we",
        "our",
        "us",
        "your",
        "ok",
        "okay",
        "please",
        "yes",
        "no",
        "hi",
        "hello",
        "thanks",
        "dear",
        "mr",
        "mrs",
        "ms",
        "dr",
    ]
)


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text)


def normalise_number(raw: str) -> str:
    """'1,000' -> '1000', '25.00' -> '25', '2.50' -> '2.5', '0,5' -> '0.5'."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", raw)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", compact):
        compact = compact.replace(",", "")
    elif re.fullmatch(r"\d+,\d{1,2}", compact):
        compact = compact.replace(",", ".")
    compact = compact.replace(",", "")
    if "." in compact:
        compact = compact.rstrip("0").rstrip(".")
    return compact.lstrip("0") or "0"


def numbers(text: str) -> set[str]:
    return {normalise_number(m.group()) for m in _NUMBER.finditer(strip_citations(text))}


def names(sentence: str) -> set[str]:
    """Capitalised words after the first word, and acronyms anywhere (lower-cased)."""
    words = _WORD.findall(strip_citations(sentence))
    found = set()
    for index, word in enumerate(words):
        if word.lower() in _COMMON_CAPITALISED:
            continue
        if _ACRONYM.match(word) or (index > 0 and word[0].isupper()):
            found.add(word.lower().rstrip("’'s") if word.endswith(("'s", "’s")) else word.lower())
    return found


def missing_facts(sentence: str, passages: list[str], allowed: frozenset[str] = frozenset()) -> list[str]:
    """The numbers and names of `sentence` that no passage contains (empty: the rule is satisfied)."""
    joined = " ".join(passages)
    passage_numbers = numbers(joined)
    passage_words = {w.lower() for w in _WORD.findall(joined)}
    lowered = joined.lower()
    missing = [f"number:{n}" for n in sorted(numbers(sentence) - passage_numbers)]
    for name in sorted(names(sentence)):
        if name in allowed or name in passage_words or name in lowered:
            continue
        missing.append(f"name:{name}")
    return missing
