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

import contextlib
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from threadpoolctl import ThreadpoolController

from first_line.artifacts import load_manifest
from first_line.text_encoder import TextEncoder
from first_line.tfidf_scorer import TfidfScorer

NEIGHBOURS = "neighbours.npz"
"""Training-message embeddings (float16) and their intent indices, for `NeighbourScorer`."""
NEIGHBOUR_MATRIX = "neighbours_t.npy"
"""The same embeddings as float32, transposed and sorted by intent: memory-mapped by every process."""
_BLAS = ThreadpoolController()
_BLAS_LIBRARIES = _BLAS.select(user_api="blas").lib_controllers


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS limited to one thread for the block. A service worker runs it single-threaded already
    (router/main.py), and there asking each library its thread count (~1 us) is cheaper than
    threadpoolctl's limit (~0.1 ms, a third of the neighbour scoring)."""
    if all(library.num_threads <= 1 for library in _BLAS_LIBRARIES):
        return contextlib.nullcontext()
    return _BLAS.limit(limits=1, user_api="blas")


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


class NeighbourScorer:
    """log softmax over intents of (highest cosine similarity to a training message of the intent) / τ."""

    def __init__(self, matrix_t: np.ndarray, sorted_labels: np.ndarray, n_intents: int, temperature: float):
        """`matrix_t` and `sorted_labels` as `neighbour_matrix` gives them."""
        if not np.array_equal(np.unique(sorted_labels), np.arange(n_intents)):
            raise ValueError("every intent needs at least one training message")
        self._embeddings_t = matrix_t
        self._starts = np.searchsorted(sorted_labels, np.arange(n_intents))
        self.temperature = temperature

    @classmethod
    def from_embeddings(
        cls, embeddings: np.ndarray, labels: np.ndarray, n_intents: int, temperature: float
    ) -> NeighbourScorer:
        return cls(*neighbour_matrix(embeddings, labels), n_intents, temperature)

    @classmethod
    def load(cls, path: Path, n_intents: int, temperature: float) -> NeighbourScorer:
        """From `neighbours.npz`; its matrix memory-mapped from `NEIGHBOUR_MATRIX` beside it when the
        artifact has one (every process on the machine then reads one copy), else built in memory."""
        stored = np.load(path)
        matrix_file = path.with_name(NEIGHBOUR_MATRIX)
        if not matrix_file.exists():  # an artifact trained before session 21
            return cls.from_embeddings(stored["embeddings"], stored["labels"], n_intents, temperature)
        matrix_t = np.asarray(np.load(matrix_file, mmap_mode="r"))
        return cls(matrix_t, np.sort(stored["labels"], kind="stable"), n_intents, temperature)

    def best_similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, intents): the cosine of each message to the closest training message of each intent."""
        # One BLAS thread: for one message, OpenBLAS's threads cost 3 ms of spinning for 0.3 ms of work.
        with _one_blas_thread():
            similarities = embeddings @ self._embeddings_t
        return np.maximum.reduceat(similarities, self._starts, axis=1)

    def log_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        return neighbour_log_probabilities(self.best_similarities(embeddings), self.temperature)


def neighbour_log_probabilities(best_similarities: np.ndarray, temperature: float) -> np.ndarray:
    return np.log(np.clip(softmax(best_similarities / temperature), 1e-12, 1.0))


def neighbour_matrix(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d, n) float32, contiguous, columns sorted by label (one message is a single pass over it), and
    the sorted labels."""
    order = np.argsort(labels, kind="stable")
    return np.ascontiguousarray(embeddings[order].T, dtype=np.float32), labels[order]


def save_neighbours(path: Path, embeddings: np.ndarray, labels: np.ndarray) -> None:
    """`neighbours.npz` (float16 embeddings, labels) and, beside it, the scoring matrix built from
    exactly those values (`NEIGHBOUR_MATRIX`, float32): memory-mapped, the service's worker processes
    share one copy. Four processes on 2 cores: 1.65-2.05 ms a product with private copies, 0.93-1.22 ms
    shared (`scripts/bench_shared_neighbours.py`)."""
    embeddings16, labels32 = embeddings.astype(np.float16), labels.astype(np.int32)
    np.savez(path, embeddings=embeddings16, labels=labels32)
    np.save(path.with_name(NEIGHBOUR_MATRIX), neighbour_matrix(embeddings16, labels32)[0])


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
