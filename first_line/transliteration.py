"""Russian written in Latin letters ("translit": "gde moya karta", "4to s perevodom") and back.

Clients without a Cyrillic keyboard write Russian with Latin letters, each in their own habit: я as
"ya", "ja" or "ia", ш as "sh", "w" or "6", ч as "ch" or "4". MiniLM reads such a message as broken English
and E5 reads it poorly, so the service first writes it back in Cyrillic (`to_cyrillic`) and reads that.

- `to_cyrillic`: longest-match rules over each Latin word, the common habits of every letter; a word that
  is surely English (a brand, "Apple Pay", "PIN", "refund") stays as written when `keep` names it.
- `to_latin`: the other way, in one of several habits drawn at random (`TranslitStyle`): it writes the
  training messages of the translit detector (`translit_detector.py`) from the domain's Russian ones.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

VOWELS = set("aeiouy")
LATIN_WORD = re.compile(r"[A-Za-z0-9'’]*[A-Za-z][A-Za-z0-9'’]*")
MAX_SPELLINGS = 128
"""Spellings tried per word: 512 read the 252 dev messages the same; a crafted 2,000-character message of
ambiguous words costs ~28 ms at 128 (66 ms at 512)."""
MAX_KNOWN_WORD = 24
"""Letters of the longest word looked up in the vocabulary ("высокопревосходительство")."""
_RUSSIAN_WORD = re.compile(r"[а-яё]+")
_ENGLISH_WORD = re.compile(r"[a-z]+")

_UNITS: list[tuple[str, tuple[str, ...]]] = [
    ("shch", ("щ",)), ("sch", ("щ",)), ("zh", ("ж",)), ("kh", ("х",)), ("tz", ("ц",)), ("ch", ("ч",)),
    ("ts", ("ц", "тс")), ("sh", ("ш", "щ")), ("yo", ("ё", "е", "йо")), ("jo", ("ё", "йо", "жо")),
    ("yu", ("ю",)), ("ju", ("ю", "жу")), ("iu", ("ю", "иу")), ("ya", ("я",)), ("ja", ("я", "жа")),
    ("ia", ("я", "ия", "иа")), ("ye", ("е", "ые")), ("je", ("е", "же")), ("yi", ("ый", "ий", "ыи")),
    ("yy", ("ый",)), ("''", ("ъ",)),
    ("y", ("ы", "й")), ("j", ("й", "ж")), ("e", ("е", "э")), ("x", ("х", "кс")), ("c", ("ц", "к", "с")),
    ("w", ("ш", "щ", "в")), ("i", ("и", "й")), ("'", ("ь", "ъ")), ("’", ("ь", "ъ")), ("4", ("ч",)),
    ("6", ("ш",)), ("3", ("з",)), ("a", ("а",)), ("b", ("б",)), ("v", ("в",)), ("g", ("г", "ж")),
    ("d", ("д",)), ("z", ("з",)), ("k", ("к",)), ("l", ("л",)), ("m", ("м",)), ("n", ("н",)),
    ("o", ("о",)), ("p", ("п",)), ("r", ("р",)), ("s", ("с",)), ("t", ("т",)), ("u", ("у",)),
    ("f", ("ф",)), ("h", ("х",)), ("q", ("к",)),
]  # fmt: skip
"""Latin letter groups (longest first) and the Cyrillic letters each may stand for, the likeliest first."""


def _units(word: str) -> list[tuple[str, ...]]:
    """`word` (lower case) cut into letter groups, longest match first; each with its readings."""
    units = []
    i = 0
    while i < len(word):
        for latin, readings in _UNITS:
            if word.startswith(latin, i):
                units.append(readings)
                i += len(latin)
                break
        else:
            units.append((word[i],))
            i += 1
    return units


def _y_or_j(previous: str, following: str) -> str:
    """ "y" or "j" alone: й after a vowel ("moy", "kakoj") or at a word's start, else ы ("vy", "byl")."""
    if not previous or previous in VOWELS:
        return "й"
    return "ы" if not following or following not in VOWELS else "й"


def rule_spelling(word: str) -> str:
    """The Cyrillic spelling of one Latin word by the commonest habit of each letter group."""
    lower = word.lower()
    out = []
    i = 0
    while i < len(lower):
        for latin, readings in _UNITS:
            if lower.startswith(latin, i):
                if latin in ("y", "j"):
                    following = lower[i + 1] if i + 1 < len(lower) else ""
                    out.append(_y_or_j(lower[i - 1] if i else "", following))
                else:
                    out.append(readings[0])
                i += len(latin)
                break
        else:
            out.append(lower[i])
            i += 1
    return "".join(out)


def cyrillic_spellings(word: str, limit: int = MAX_SPELLINGS) -> list[str]:
    """Every Cyrillic spelling `word` may stand for, each letter group read each way it may be (at most
    `limit`)."""
    spellings = [""]
    for readings in _units(word.lower()):
        spellings = [s + r for s in spellings for r in readings][:limit]
    return spellings


def skeleton(word: str) -> str:
    """A Russian word without the letters translit often leaves out or blurs: ь, ъ, and ё as е."""
    return word.replace("ь", "").replace("ъ", "").replace("ё", "е")


@dataclass(frozen=True, eq=False)  # hashed by identity: `known_reading` caches per vocabulary
class Vocabulary:
    """The words `to_cyrillic` knows: Russian ones by skeleton (the commonest word of each, with its
    count), and English ones a translit message may carry as they are."""

    russian: dict[str, tuple[str, int]]
    english: frozenset[str]

    @classmethod
    def build(
        cls, russian_texts: Iterable[str], english_texts: Iterable[str], min_count: int = 2
    ) -> Vocabulary:
        """Words seen at least `min_count` times (once is too often a typo)."""
        russian = Counter(w for text in russian_texts for w in _RUSSIAN_WORD.findall(text.lower()))
        by_skeleton: dict[str, tuple[str, int]] = {}
        for word, count in russian.most_common():
            if count >= min_count:
                by_skeleton.setdefault(skeleton(word), (word, count))
        english = Counter(w for text in english_texts for w in _ENGLISH_WORD.findall(text.lower()))
        return cls(by_skeleton, frozenset(w for w, c in english.items() if c >= min_count))

    def russian_word(self, spellings: list[str]) -> str | None:
        """The commonest known Russian word among `spellings`, or None."""
        known = [self.russian[k] for s in spellings if (k := skeleton(s)) in self.russian]
        return max(known, key=lambda word_count: word_count[1])[0] if known else None

    @functools.lru_cache(maxsize=20_000)  # noqa: B019 (one vocabulary per process, kept for its life)
    def known_reading(self, word: str) -> str | None:
        """The known Russian word a Latin `word` (lower case) stands for, or None. A word longer than
        `MAX_KNOWN_WORD` letters is not looked up: its spellings multiply with its length."""
        return None if len(word) > MAX_KNOWN_WORD else self.russian_word(cyrillic_spellings(word))

    def has_russian_word(self, text: str) -> bool:
        """Some Latin word of `text` reads as a known Russian word and is no known English word: "privet"
        has one; "hiya" has none, nor "ok" or "no problem" (English words that read as "ок", "но проблем")."""
        words = (w.lower() for w in LATIN_WORD.findall(text) if not _is_number(w))
        return any(w not in self.english and self.known_reading(w) is not None for w in words)

    def to_json(self) -> dict:
        return {"russian": self.russian, "english": sorted(self.english)}

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        return cls({k: (w, int(c)) for k, (w, c) in data["russian"].items()}, frozenset(data["english"]))


def _is_number(word: str) -> bool:
    return not any(c.isalpha() for c in word)


def to_cyrillic(text: str, vocabulary: Vocabulary | None = None) -> str:
    """`text` with every Latin word written in Cyrillic: the commonest known Russian word among its
    spellings (`vocabulary`), else the word as written when it is a known English word ("refund", "pay")
    or all capitals ("PIN", "SWIFT"), else by the commonest habits (`rule_spelling`). An unknown word
    keeps its capital initial ("Ivanu Petrovu" → "Ивану Петрову": the entity extractor finds the name); a
    known word is written in lower case, as before (E5 reads "Здравствуйте" and "здравствуйте" apart, and
    capitals on known words cost the dev set 0.8 points of precision). Digits inside a word
    are letters ("4to" → "что"); numbers stay numbers."""

    def convert(match: re.Match[str]) -> str:
        word = match.group(0)
        if _is_number(word):
            return word
        lower = word.lower()
        known = vocabulary.known_reading(lower) if vocabulary else None
        acronym = len(word) > 1 and word.isupper()
        if known is None and (acronym or (vocabulary is not None and lower in vocabulary.english)):
            return word
        if known is not None:
            return known
        spelled = rule_spelling(lower)  # an unknown word written with a capital is most often a name
        return spelled[:1].upper() + spelled[1:] if word[:1].isupper() and not acronym else spelled

    return LATIN_WORD.sub(convert, text)


@dataclass(frozen=True)
class TranslitStyle:
    """One client's habit: the Latin spelling of each Cyrillic letter that has several."""

    letters: dict[str, str]
    drop_soft_sign: bool

    @classmethod
    def draw(cls, rng: random.Random) -> TranslitStyle:
        choices = {
            "я": ["ya", "ya", "ja", "ia", "a"], "ю": ["yu", "yu", "ju", "iu", "u"],
            "ё": ["yo", "e", "jo", "e"],
            "ж": ["zh", "zh", "j", "g"], "х": ["h", "h", "kh", "x"], "ц": ["ts", "c", "tz", "ts"],
            "ч": ["ch", "ch", "4", "ch"], "ш": ["sh", "sh", "w", "6"], "щ": ["sch", "shch", "w", "sh"],
            "ы": ["y", "y", "i", "y"], "й": ["y", "i", "j", "y"], "э": ["e", "e", "e", "je"],
            "ъ": ["", "'", "''", ""],
        }  # fmt: skip
        return cls(
            letters={letter: rng.choice(options) for letter, options in choices.items()},
            drop_soft_sign=rng.random() < 0.5,
        )


_PLAIN_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "з": "z", "и": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
}  # fmt: skip


def to_latin(text: str, style: TranslitStyle) -> str:
    """`text` (Russian) in Latin letters the way `style` writes them; lower case, as most clients type."""
    out = []
    for char in text.lower():
        if char == "ь":
            out.append("" if style.drop_soft_sign else "'")
        elif char in style.letters:
            out.append(style.letters[char])
        else:
            out.append(_PLAIN_LATIN.get(char, char))
    return "".join(out)
