"""The intent model's nearest-neighbour view: how close a message is to each intent's training messages.

log softmax over intents of (the highest cosine to a training message of the intent) / τ: a near-copy
of a training message gets its label even where the linear head draws its boundary elsewhere.

The training messages' embeddings are stored as float16 (`neighbours.npz`) and multiplied in int8
(`first_line/int8_matrix.py`): 3.9 MB instead of 15.7 MB of float32 read on every turn, so the intent
encoder's weights stay in the CPU's cache beside them. Training scores the dev split through the same
int8 product, so the ensemble weights are fitted on what is served.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import log_softmax

from first_line.int8_matrix import Int8Matrix

NEIGHBOURS = "neighbours.npz"
"""Training-message embeddings (float16) and their intent indices."""
LOG_FLOOR = float(np.log(1e-12))


class NeighbourScorer:
    def __init__(self, embeddings: np.ndarray, labels: np.ndarray, n_intents: int, temperature: float):
        """`embeddings` (n, d) of the training messages, `labels` (n,) their intent indices."""
        order = np.argsort(labels, kind="stable")
        sorted_labels = np.asarray(labels)[order]
        if not np.array_equal(np.unique(sorted_labels), np.arange(n_intents)):
            raise ValueError("every intent needs at least one training message")
        self._matrix = Int8Matrix(np.asarray(embeddings, dtype=np.float32)[order].T)
        self._starts = np.searchsorted(sorted_labels, np.arange(n_intents))
        self.temperature = temperature

    @classmethod
    def load(cls, path: Path, n_intents: int, temperature: float) -> NeighbourScorer:
        """From `neighbours.npz`."""
        stored = np.load(path)
        return cls(stored["embeddings"], stored["labels"], n_intents, temperature)

    def best_similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, intents): the cosine of each message to the closest training message of each intent."""
        return np.maximum.reduceat(self._matrix.product(embeddings), self._starts, axis=1)

    def log_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        return neighbour_log_probabilities(self.best_similarities(embeddings), self.temperature)


def neighbour_log_probabilities(best_similarities: np.ndarray, temperature: float) -> np.ndarray:
    return np.maximum(log_softmax(best_similarities / temperature, axis=-1), LOG_FLOOR)


def save_neighbours(path: Path, embeddings: np.ndarray, labels: np.ndarray) -> None:
    """`neighbours.npz`: the training messages' embeddings (float16) and intent indices (int32)."""
    np.savez(path, embeddings=embeddings.astype(np.float16), labels=labels.astype(np.int32))
