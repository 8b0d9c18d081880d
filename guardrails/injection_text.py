"""Undoing the usual disguises of a prompt injection before the rules and the model look at it.

`readings(text)` returns the message itself and, when they differ from it, the ways an attacker hides
words from a filter, undone: Unicode compatibility forms and zero-width characters, Cyrillic/Latin
look-alike letters inside Latin words, leetspeak inside words ("1gn0r3"), letters spaced or dotted
apart ("i g n o r e", "I.g.n.o.r.e"), base64 and rot13 payloads. The screen flags a message when any
reading is flagged. A plain bank question has one reading, so it costs one model call.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CYRILLIC_LOOKALIKES = str.maketrans("аеорсхуіАВЕКМНОРСТХ", "aeopcxyiABEKMHOPCTX")
_LATIN_WORD_WITH_CYRILLIC = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[а-яА-ЯіІ])\w+\b")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$]*[A-Za-z])(?=[\w@$]*[0-9@$])[\w@$]{3,}")
_SPACED = re.compile(r"(?<!\w)(?:\w[ .\-_*]{1,3}){3,}\w(?!\w)")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_ROT13_HINT = re.compile(r"\brot[\s-]?13\b", re.IGNORECASE)


def readings(text: str) -> list[str]:
    """The message and its undisguised forms (each once, the message first)."""
    clean = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    clean = _LATIN_WORD_WITH_CYRILLIC.sub(lambda m: m[0].translate(_CYRILLIC_LOOKALIKES), clean)
    found = [text, clean, _deleet(clean), _despace(clean), *_decoded_base64(clean)]
    if _ROT13_HINT.search(clean):
        found.append(codecs.encode(clean, "rot13"))
    unique: list[str] = []
    for reading in found:
        if reading and reading not in unique:
            unique.append(reading)
    return unique


def _deleet(text: str) -> str:
    """Digits and symbols standing for letters inside words with letters: "1gn0r3" -> "ignore"."""
    return _LEET_WORD.sub(lambda m: m[0].translate(_LEET), text)


def _despace(text: str) -> str:
    """Runs of single letters separated by spaces, dots or dashes joined: "i g n o r e" -> "ignore",
    "I.g.n.o.r.e y.o.u.r" -> "Ignore your"; between letters spaced by spaces, a wide gap (2+ spaces)
    is the word break."""

    def join(match: re.Match[str]) -> str:
        run = match[0]
        words = run.split() if re.search(r"[.\-_*]", run) else re.split(r"\s{2,}", run)
        return " ".join(re.sub(r"[ .\-_*]", "", word) for word in words)

    return _SPACED.sub(join, text)


def _decoded_base64(text: str) -> list[str]:
    """The printable text of each base64 run long enough to hide an instruction."""
    decoded = []
    for match in _BASE64.finditer(text):
        chunk = match[0]
        try:
            plain = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if (
            plain
            and sum(c.isprintable() for c in plain) / len(plain) > 0.95
            and re.search(r"[^\W\d_]{3}", plain)
        ):
            decoded.append(plain)
    return decoded
