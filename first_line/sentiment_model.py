"""Client sentiment at run time: P(the client's message is negative: angry, rude, frustrated).

Two views of the message, averaged: a logistic-regression head over multilingual E5 embeddings
(meaning, English and Russian) and a character n-gram logistic regression (swearing, "!!!",
"?!", caps), both trained by `twoline train sentiment` (`first_line/sentiment_training.py`).
The router stores the score with every client message; the policy picks an empathetic answer
variant above `policy.negative_sentiment_threshold`, and the VOC-risk model counts negative
messages.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np

from first_line.artifacts import load_manifest
from first_line.multilingual_encoder import MultilingualEncoder

KIND = "sentiment"
HEAD = "head.npz"
CHAR_MODEL = "char_ngrams.joblib"


class SentimentModel:
    def __init__(self, artifact_dir: Path | str, encoder: MultilingualEncoder | None = None) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind=KIND)
        self.encoder = encoder or MultilingualEncoder()
        head = np.load(self.artifact_dir / HEAD)
        self._weights, self._bias = head["weights"], float(head["bias"])
        self._char_model = joblib.load(self.artifact_dir / CHAR_MODEL)

    @property
    def version(self) -> str:
        return self.manifest.data_hash[:12]

    def warm_up(self) -> None:
        self.encoder.warm_up()
        self.negativity(["warm up"])

    def negativity(self, texts: list[str]) -> np.ndarray:
        """P(negative) for each text, in [0, 1]."""
        if not texts:
            return np.zeros(0)
        embedded = 1.0 / (1.0 + np.exp(-(self.encoder.encode(texts) @ self._weights + self._bias)))
        chars = self._char_model.predict_proba(texts)[:, 1]
        return (embedded + chars) / 2.0

    def score(self, text: str) -> float:
        return float(self.negativity([text])[0])
