"""TF-IDF + linear models scored one text at a time, without sklearn's per-call overhead.

sklearn spends ~1-2 ms validating and building sparse matrices for a single message; the maths
is a few hundred n-gram look-ups. `FastTfidf` applies one fitted `TfidfVectorizer` (sublinear tf,
idf, l2 norm) with its own analyzer, vocabulary and idf weights and gives the sparse row as
(indices, values); `linear_log_probabilities` puts a fitted logistic regression on top.
`TfidfScorer` does both for a whole pipeline (a `TfidfVectorizer` or a `FeatureUnion` of them,
then `LogisticRegression`). A `char_wb` vectorizer's n-grams are counted word by word, from a cache of
each word's (`WordwiseGrams`). Tests check them against sklearn to 1e-6.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
from sklearn.pipeline import Pipeline

from first_line.linear_head import class_weights

SparseRow = tuple[np.ndarray, np.ndarray]
"""(column indices, values) of one row."""

WORD_CACHE_SIZE = 8192
"""Words whose n-gram indices a `char_wb` vectorizer keeps (a few MB at most)."""

GramCounts = tuple[np.ndarray, np.ndarray]
"""(vocabulary indices, how often each occurs) of a text's known n-grams."""


def gram_counts(counts: Counter[int]) -> GramCounts:
    """A `Counter` of vocabulary indices as arrays."""
    index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    return index, np.fromiter(counts.values(), dtype=np.float64, count=len(counts))


class AnalyzerGrams:
    """The known n-grams (or words) of a text, by vocabulary index, through the vectorizer's own analyzer."""

    def __init__(self, vectorizer) -> None:
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary = vectorizer.vocabulary_

    def __call__(self, text: str) -> Iterable[int]:
        vocabulary = self._vocabulary
        return (i for gram in self._analyzer(text) if (i := vocabulary.get(gram)) is not None)

    def counts(self, text: str) -> GramCounts:
        return gram_counts(Counter(self(text)))


class WordwiseGrams:
    """The known n-grams of a text, by vocabulary index, for a `char_wb` vectorizer, counted word by word.

    `char_wb` pads each whitespace-separated word of the preprocessed text with a space and cuts its
    n-grams from it alone, so a text's n-grams are its words' in turn. A word's indices are kept for the
    latest `WORD_CACHE_SIZE` words (functools' cache is thread-safe): chat texts repeat a few thousand
    words, and a hit replaces ~20 string slices and look-ups with one. ~30 us less a message and model."""

    def __init__(self, vectorizer) -> None:
        self._preprocess = vectorizer.build_preprocessor()
        self._white_spaces = vectorizer._white_spaces
        self._grams_of_text = vectorizer._char_wb_ngrams
        self._vocabulary = vectorizer.vocabulary_
        self.word_indices = lru_cache(maxsize=WORD_CACHE_SIZE)(self._word_indices)

    @staticmethod
    def applies_to(vectorizer) -> bool:
        return vectorizer.analyzer == "char_wb" and vectorizer.input == "content"

    def __call__(self, text: str) -> Iterable[int]:
        return chain.from_iterable(self._indices_by_word(text))

    def counts(self, text: str) -> GramCounts:
        indices = self._indices_by_word(text)
        if not indices:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index, counts = np.unique(np.concatenate(indices), return_counts=True)
        return index, counts.astype(np.float64)

    def _indices_by_word(self, text: str) -> list[np.ndarray]:
        words = self._white_spaces.sub(" ", self._preprocess(text)).split()
        return [self.word_indices(word) for word in words]

    def _word_indices(self, word: str) -> np.ndarray:
        vocabulary = self._vocabulary
        indices = [i for gram in self._grams_of_text(word) if (i := vocabulary.get(gram)) is not None]
        return np.array(indices, dtype=np.int64)


def known_grams(vectorizer) -> AnalyzerGrams | WordwiseGrams:
    """A text's known n-grams (or words), by vocabulary index, as `vectorizer` counts them."""
    return WordwiseGrams(vectorizer) if WordwiseGrams.applies_to(vectorizer) else AnalyzerGrams(vectorizer)


@dataclass(frozen=True)
class FastTfidf:
    grams: AnalyzerGrams | WordwiseGrams
    """A text's known n-grams by vocabulary index (`known_grams`)."""
    vocabulary: dict[str, int]
    idf: np.ndarray

    @classmethod
    def of(cls, vectorizer) -> FastTfidf:
        if not (vectorizer.sublinear_tf and vectorizer.norm == "l2" and vectorizer.use_idf):
            raise ValueError("FastTfidf supports sublinear tf, idf and l2 norm only")
        return cls(known_grams(vectorizer), vectorizer.vocabulary_, vectorizer.idf_)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def row(self, text: str) -> SparseRow:
        """The l2-normalised TF-IDF row of `text` (empty arrays when no n-gram is known)."""
        return self._weighted(*self.grams.counts(text))

    def counts(self, text: str) -> Counter[int]:
        """How often each known n-gram of `text` occurs, by vocabulary index."""
        return Counter(self.grams(text))

    def row_of_counts(self, counts: Counter[int]) -> SparseRow:
        """The l2-normalised TF-IDF row of a text with these n-gram counts."""
        return self._weighted(*gram_counts(counts))

    def _weighted(self, index: np.ndarray, counts: np.ndarray) -> SparseRow:
        if not len(index):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        values = 1.0 + np.log(counts)
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
