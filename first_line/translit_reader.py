"""Reads Russian typed in Latin letters: tells such a message apart, then writes it in Cyrillic.

"gde moya karta, ee ukrali" read as English by MiniLM is noise, and E5 reads it poorly too. The service
reads the message's Cyrillic form instead ("где моя карта, её украли"): the intents, the sentiment, the
entities and the answer's language then follow as for a message typed in Cyrillic; the stored message
keeps what the client wrote.

- The detector: a logistic regression on character 1-4 grams, P(Russian in Latin letters) against English,
  trained by `translit_training.py` on English client messages (the intent model's training messages and
  the shared chat corpora) and the domain's Russian messages written in Latin letters by several habits
  (`transliteration.to_latin`). A message is read as Russian at
  `cut` or above (0.8: an English message read as Russian is answered in the wrong language, so the cut
  leans to English).
- The vocabulary (`transliteration.Vocabulary`) picks each word's Cyrillic spelling; a message with no word
  that reads as a known Russian word and is no known English word stays English, whatever the detector
  says.

Its two files live in the Russian intent model's artifact (`artifacts/russian_intents`), trained with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np

from first_line.artifacts import ArtifactError, load_manifest
from first_line.language import looks_russian
from first_line.russian_intent_model import KIND
from first_line.tfidf_scorer import TfidfScorer
from first_line.transliteration import Vocabulary, to_cyrillic

DETECTOR = "translit_detector.joblib"
VOCABULARY = "translit_vocabulary.json"
FILES = (DETECTOR, VOCABULARY)
DEFAULT_CUT = 0.8


def _mostly_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum("a" <= c.lower() <= "z" for c in letters) > len(letters) / 2


class TranslitReader:
    """Load with `TranslitReader(artifacts_dir / "russian_intents")`, `warm_up()`, then `reading(text)`."""

    def __init__(self, folder: Path | str, cut: float = DEFAULT_CUT) -> None:
        self.folder = Path(folder)
        manifest = load_manifest(self.folder, KIND, trained_by="intents")
        if any(name not in manifest.files for name in FILES):
            raise ArtifactError(
                f"{self.folder}: a Russian intent model from before the translit reader; "
                "run `twoline train intents`"
            )
        self.cut = cut
        self._detector: TfidfScorer | None = None
        self._vocabulary: Vocabulary | None = None

    def warm_up(self) -> None:
        if self._detector is None:
            self._detector = TfidfScorer(joblib.load(self.folder / DETECTOR))
            data = json.loads((self.folder / VOCABULARY).read_text(encoding="utf-8"))
            self._vocabulary = Vocabulary.from_json(data)

    def probability(self, text: str) -> float:
        """P(`text` is Russian in Latin letters); 0 for text that is not mostly Latin letters."""
        if not _mostly_latin(text):
            return 0.0
        self.warm_up()
        return float(np.exp(self._detector.log_probabilities([text])[0, 1]))

    def reading(self, text: str) -> str | None:
        """`text` in Cyrillic when it is Russian typed in Latin letters, else None (English, Cyrillic,
        no letters). The detector must say so, and some word must be Russian only (`has_russian_word`):
        "hiya", "ok" and "no problem" passed the detector alone and were answered in Russian."""
        if looks_russian(text) or self.probability(text) < self.cut:
            return None
        if not self._vocabulary.has_russian_word(text):
            return None
        return to_cyrillic(text, self._vocabulary)

    def text_to_read(self, text: str) -> str:
        """What the models read: the Cyrillic reading of a translit message, else `text` itself."""
        return self.reading(text) or text
