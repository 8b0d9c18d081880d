"""The context-aware intent classifier at run time.

probabilities = softmax((log p_head + w · log p_tfidf + v · log p_neighbours) / T)

- `p_head`: a linear head over [embedding(message), embedding(dialog context)], where the
  embeddings come from the (fine-tuned) MiniLM encoder in ONNX int8;
- `p_tfidf`: word and character n-grams of the message with logistic regression, which catches
  the exact wording the encoder blurs (product names, "PIN", "top-up");
- `p_neighbours`: the message's most similar training message of each intent (cosine of the
  same embeddings, softmax over intents at temperature `τ`): a near-copy of a training message
  gets its label even where the linear head draws its boundary elsewhere;
- `w`, `v`, `τ` and the temperature `T` are fitted on a dev split, so that a probability of 0.98 means
  right 98 times out of 100: per-intent thresholds rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np

from first_line.artifacts import Manifest, load_manifest
from first_line.neighbour_scorer import NEIGHBOURS, NeighbourScorer
from first_line.text_encoder import ONNX_INT8, TextEncoder
from first_line.tfidf_scorer import TfidfScorer


def intent_encoder_dependency(intents: Manifest) -> dict[str, str]:
    """What a model that reads the intent model's encoder (pools, likes, the English sentiment head) records
    in its manifest's `depends_on`: the hash of the encoder file it was trained on."""
    return {"intents": intents.files.get(ONNX_INT8, "")}


def reads_this_intent_encoder(depends_on: dict[str, str], intents: Manifest | None) -> bool:
    """Whether a model was trained on the encoder of the intent artifact `intents` (None: there is none).
    A retrained intent model has a new encoder file, so everything trained on the old one is stale."""
    return intents is not None and depends_on.get("intents") == intents.files.get(ONNX_INT8)


CONTEXT_DECAY = 0.5
"""Weight of each earlier context message relative to the next one (most recent counts most)."""


@dataclass(frozen=True)
class IntentPrediction:
    intents: list[str]
    """All intents, best first."""
    probabilities: np.ndarray
    """Calibrated probabilities, aligned with `intents`."""

    @property
    def top(self) -> str:
        return self.intents[0]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[0])

    def top_k(self, k: int) -> list[tuple[str, float]]:
        return [(i, float(p)) for i, p in zip(self.intents[:k], self.probabilities[:k], strict=True)]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def context_features(encoder: TextEncoder, texts: list[str], contexts: list[list[str]]) -> np.ndarray:
    """[embedding(text), decayed mean of embedding(context)] per message; zeros when no context."""
    current = encoder.encode(texts)
    flat = [c for ctx in contexts for c in ctx]
    context_vectors = encoder.encode(flat) if flat else np.zeros((0, current.shape[1]), np.float32)
    pooled = np.zeros_like(current)
    offset = 0
    for row, ctx in enumerate(contexts):
        if ctx:
            vectors = context_vectors[offset : offset + len(ctx)]
            weights = CONTEXT_DECAY ** np.arange(len(ctx))[::-1]  # context is oldest first
            mean = (weights[:, None] * vectors).sum(0) / weights.sum()
            pooled[row] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        offset += len(ctx)
    return np.hstack([current, pooled]).astype(np.float32)


class IntentModel:
    """Loads an `artifacts/intents` folder; `predict()` gives calibrated intent probabilities."""

    def __init__(
        self, artifact_dir: Path | str, quantized: bool = True, threads: int = 1, cache_size: int = 4096
    ):
        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind="intents")
        # One message at a time, as the service runs it (int8 embeddings depend on the batch).
        self.encoder = TextEncoder(
            self.artifact_dir, quantized=quantized, threads=threads, cache_size=cache_size, batch_size=1
        )
        self.intents: list[str] = list(self.manifest.labels)
        self._head_weights: np.ndarray | None = None
        self._head_bias: np.ndarray | None = None
        self._tfidf = None
        self._neighbours: NeighbourScorer | None = None

    def warm_up(self) -> None:
        if self._tfidf is not None:
            return
        self.encoder.warm_up()
        head = np.load(self.artifact_dir / "head.npz")
        self._head_weights, self._head_bias = head["weights"], head["bias"]
        if self.ensemble.get("neighbour_weight", 0.0) > 0:
            self._neighbours = NeighbourScorer.load(
                self.artifact_dir / NEIGHBOURS, len(self.intents), self.ensemble["neighbour_temperature"]
            )
        self._tfidf = TfidfScorer(joblib.load(self.artifact_dir / "tfidf.joblib"))
        self.predict("warm up")

    @property
    def ensemble(self) -> dict[str, float]:
        return self.manifest.params

    def predict(self, text: str, context: list[str] | None = None) -> IntentPrediction:
        return self.predict_batch([text], [context or []])[0]

    def predict_batch(
        self, texts: list[str], contexts: list[list[str]] | None = None
    ) -> list[IntentPrediction]:
        probabilities = self.probabilities(texts, contexts)
        return [self._prediction(row) for row in probabilities]

    def probabilities(self, texts: list[str], contexts: list[list[str]] | None = None) -> np.ndarray:
        """(n, intents) calibrated probabilities, columns in `self.intents` order."""
        self.warm_up()
        contexts = contexts or [[] for _ in texts]
        features = context_features(self.encoder, texts, contexts)
        neighbours = None
        if self._neighbours is not None:
            neighbours = self._neighbours.log_probabilities(features[:, : features.shape[1] // 2])
        return combine(
            head_log_probabilities(features, self._head_weights, self._head_bias),
            self._tfidf.log_probabilities(texts),
            self.ensemble["tfidf_weight"],
            self.ensemble["temperature"],
            neighbours,
            self.ensemble.get("neighbour_weight", 0.0),
        )

    def _prediction(self, row: np.ndarray) -> IntentPrediction:
        order = np.argsort(-row)
        return IntentPrediction([self.intents[i] for i in order], row[order])


def head_log_probabilities(features: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = features @ weights.T + bias
    return np.log(np.clip(softmax(logits), 1e-12, 1.0))


def combine(
    head_log_p: np.ndarray,
    tfidf_log_p: np.ndarray,
    tfidf_weight: float,
    temperature: float,
    neighbour_log_p: np.ndarray | None = None,
    neighbour_weight: float = 0.0,
) -> np.ndarray:
    logits = head_log_p + tfidf_weight * np.clip(tfidf_log_p, -27.6, 0.0)
    if neighbour_log_p is not None and neighbour_weight:
        logits = logits + neighbour_weight * neighbour_log_p
    return softmax(logits / temperature)
