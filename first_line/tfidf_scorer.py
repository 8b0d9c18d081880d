"""TF-IDF + linear models scored one text at a time, without sklearn's per-call overhead.

sklearn spends ~1-2 ms validating and building sparse matrices for a single message; the maths
is a few hundred n-gram look-ups. `FastTfidf` applies one fitted `TfidfVectorizer` (sublinear tf,
idf, l2 norm) with its own analyzer, vocabulary and idf weights and gives the sparse row as
(indices, values); `linear_log_probabilities` puts a fitted logistic regression on top.
`TfidfScorer` does both for a whole pipeline (a `TfidfVectorizer` or a `FeatureUnion` of them,
then `LogisticRegression`). Tests check them against sklearn to 1e-6.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from first_line.linear_head import class_weights

SparseRow = tuple[np.ndarray, np.ndarray]
"""(column indices, values) of one row."""


@dataclass(frozen=True)
class FastTfidf:
    analyzer: Any
    vocabulary: dict[str, int]
    idf: np.ndarray

    @classmethod
    def of(cls, vectorizer) -> FastTfidf:
        if not (vectorizer.sublinear_tf and vectorizer.norm == "l2" and vectorizer.use_idf):
            raise ValueError("FastTfidf supports sublinear tf, idf and l2 norm only")
        return cls(vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def row(self, text: str) -> SparseRow:
        """The l2-normalised TF-IDF row of `text` (empty arrays when no n-gram is known)."""
        return self.row_of_counts(self.counts(text))

    def counts(self, text: str) -> Counter[int]:
        """How often each known n-gram of `text` occurs, by vocabulary index."""
        vocabulary = self.vocabulary
        return Counter(i for gram in self.analyzer(text) if (i := vocabulary.get(gram)) is not None)

    def row_of_counts(self, counts: Counter[int]) -> SparseRow:
        """The l2-normalised TF-IDF row of a text with these n-gram counts."""
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        values *= self.idf[index]
        values /= np.linalg.norm(values)
        return index, values


def linear_weights(classifier) -> tuple[np.ndarray, np.ndarray]:
    """(features, classes) weights and (classes,) bias of a fitted logistic regression (a two-class one
    too: `class_weights`)."""
    weights, bias = class_weights(classifier)
    return np.ascontiguousarray(weights.T), bias


def linear_log_probabilities(row: SparseRow, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """log softmax(row · weights + bias) for one sparse row."""
    index, values = row
    logits = bias + values @ weights[index] if len(index) else bias.copy()
    logits = logits - logits.max()
    return logits - np.log(np.exp(logits).sum())


class TfidfFeatures:
    """The rows of a fitted `TfidfVectorizer` or `FeatureUnion` of them, one text at a time."""

    def __init__(self, features) -> None:
        vectorizers = (
            [v for _, v in features.transformer_list] if hasattr(features, "transformer_list") else [features]
        )
        self._parts: list[tuple[FastTfidf, int]] = []
        offset = 0
        for vectorizer in vectorizers:
            part = FastTfidf.of(vectorizer)
            self._parts.append((part, offset))
            offset += part.size
        self.size = offset

    def row(self, text: str) -> SparseRow:
        rows = [part.row(text) for part, _ in self._parts]
        index = np.concatenate([i + offset for (i, _), (_, offset) in zip(rows, self._parts, strict=True)])
        return index, np.concatenate([v for _, v in rows])


class TfidfScorer:
    def __init__(self, pipeline: Pipeline) -> None:
        self._features = TfidfFeatures(pipeline.steps[0][1])
        classifier = pipeline.steps[-1][1]
        self._weights, self._bias = linear_weights(classifier)
        self.classes = list(classifier.classes_)

    def log_probabilities(self, texts: list[str]) -> np.ndarray:
        return np.stack(
            [linear_log_probabilities(self.row(text), self._weights, self._bias) for text in texts]
        )

    def row(self, text: str) -> SparseRow:
        return self._features.row(text)
