"""Features of "the dialog so far" (client turns with their labels), shared by the next-intent
recommender and the end-of-dialog detector.

A `DialogSoFar` is what both the corpora and the live service can produce: the client's texts,
oldest first, each with the labels known for it (in the service: the intent decided for that
message; in the corpora: the mapped corpus labels). Sparse features, a linear model on top:
- the last client text (word 1-2 grams, optionally char 2-4 grams),
- the previous client text (word 1-2 grams),
- the whole history (words),
- label tokens: every label seen, the labels of the last turn, the last request,
- the number of client turns so far (log), unless `use_length=False` (the end-of-dialog detector:
  the corpora's dialogs run 7-12 client turns, a bot's far fewer, so length would not transfer).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer

from first_line.tfidf_scorer import FastTfidf, SparseRow, linear_log_probabilities, linear_weights


@dataclass(frozen=True)
class DialogSoFar:
    texts: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...] = field(default=())
    """Per text, its labels (may be empty)."""
    last_request: str | None = None
    """The last request label seen (a bank intent or corpus-only intent), for the next-intent model."""

    def __post_init__(self) -> None:
        if self.labels and len(self.labels) != len(self.texts):
            raise ValueError("labels must be given per text")


class DialogFeaturizer:
    """Fits sparse vectorizers on a list of `DialogSoFar`; picklable (lives inside the artifact)."""

    def __init__(self, char_ngrams: bool = False, use_labels: bool = True, use_length: bool = True) -> None:
        self.char_ngrams = char_ngrams
        self.use_labels = use_labels
        self.use_length = use_length
        self.last_words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True)
        self.last_chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=3)
        self.previous_words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        self.history_words = TfidfVectorizer(sublinear_tf=True, min_df=2)
        self.tokens = DictVectorizer()

    def fit(self, dialogs: list[DialogSoFar]) -> DialogFeaturizer:
        last, previous, history, tokens = _columns(dialogs, self.use_labels, self.use_length)
        self.last_words.fit(last)
        if self.char_ngrams:
            self.last_chars.fit(last)
        self.previous_words.fit(previous)
        self.history_words.fit(history)
        self.tokens.fit(tokens)
        return self

    def transform(self, dialogs: list[DialogSoFar]) -> sp.csr_matrix:
        last, previous, history, tokens = _columns(dialogs, self.use_labels, self.use_length)
        blocks = [self.last_words.transform(last)]
        if self.char_ngrams:
            blocks.append(self.last_chars.transform(last))
        blocks += [
            self.previous_words.transform(previous),
            0.5 * self.history_words.transform(history),
            self.tokens.transform(tokens),
        ]
        return sp.hstack(blocks, format="csr")


DEFAULT_TOKEN_PATTERN = TfidfVectorizer().token_pattern


class JoinedTextCounts:
    """Word counts of a dialog's history (its earlier texts joined by spaces) as the sum of each text's
    counts, kept for the texts seen lately: a turn counts only its newest text, where counting the
    joined history grows with the dialog (0.3-0.5 ms a turn at 15 client turns for the two dialog
    models). Exact for unigrams of the default word pattern, which cannot span the joining space."""

    def __init__(self, part: FastTfidf, cache_size: int = 4096) -> None:
        self.part = part
        self.indices = lru_cache(maxsize=cache_size)(self._indices)
        """`_indices`, kept for the latest `cache_size` texts (functools' cache is thread-safe)."""

    @staticmethod
    def applies_to(vectorizer: TfidfVectorizer) -> bool:
        return (
            vectorizer.analyzer == "word"
            and tuple(vectorizer.ngram_range) == (1, 1)
            and vectorizer.tokenizer is None
            and vectorizer.preprocessor is None
            and vectorizer.token_pattern == DEFAULT_TOKEN_PATTERN
        )

    def of_joined(self, texts: Sequence[str]) -> Counter[int]:
        return Counter(chain.from_iterable(self.indices(text) for text in texts))

    def _indices(self, text: str) -> tuple[int, ...]:
        """The vocabulary index of each known word of `text`, repeats included."""
        return tuple(self.part.counts(text).elements())


class DialogScorer:
    """A fitted featurizer and its logistic regression, scored one dialog at a time: the same
    probabilities as `classifier.predict_proba(featurizer.transform(...))` without sklearn's
    per-call overhead (~3 ms a turn; a test checks them equal)."""

    def __init__(self, featurizer: DialogFeaturizer, classifier) -> None:
        self.featurizer = featurizer
        self.classes = list(classifier.classes_)
        blocks = [("last", FastTfidf.of(featurizer.last_words), 1.0)]
        if featurizer.char_ngrams:
            blocks.append(("last", FastTfidf.of(featurizer.last_chars), 1.0))
        blocks += [
            ("previous", FastTfidf.of(featurizer.previous_words), 1.0),
            ("history", FastTfidf.of(featurizer.history_words), 0.5),
        ]
        self._blocks = blocks
        history = blocks[-1][1]
        self._history = (
            JoinedTextCounts(history) if JoinedTextCounts.applies_to(featurizer.history_words) else None
        )
        self._tokens: dict[str, int] = featurizer.tokens.vocabulary_
        self._tokens_offset = sum(part.size for _, part, _ in blocks)
        self._weights, self._bias = linear_weights(classifier)

    def probabilities(self, dialogs: list[DialogSoFar]) -> np.ndarray:
        """(dialogs, classes) probabilities, columns in `classes` order."""
        rows = [linear_log_probabilities(self.row(d), self._weights, self._bias) for d in dialogs]
        return np.exp(np.stack(rows)) if rows else np.zeros((0, len(self.classes)))

    def row(self, dialog: DialogSoFar) -> SparseRow:
        last, previous, history, tokens = _columns(
            [dialog], self.featurizer.use_labels, self.featurizer.use_length
        )
        columns = {"last": last[0], "previous": previous[0], "history": history[0]}
        indices, values, offset = [], [], 0
        for column, part, weight in self._blocks:
            if column == "history" and self._history is not None:
                earlier = (dialog.texts or ("",))[:-1]  # as `_columns` joins them
                index, value = part.row_of_counts(self._history.of_joined(earlier))
            else:
                index, value = part.row(columns[column])
            indices.append(index + offset)
            values.append(value * weight)
            offset += part.size
        known = [(self._tokens[k], v) for k, v in tokens[0].items() if k in self._tokens and v != 0]
        indices.append(np.array([self._tokens_offset + i for i, _ in known], dtype=np.int64))
        values.append(np.array([v for _, v in known], dtype=np.float64))
        return np.concatenate(indices), np.concatenate(values)


def _columns(dialogs: list[DialogSoFar], use_labels: bool, use_length: bool):
    last, previous, history, tokens = [], [], [], []
    for dialog in dialogs:
        texts = dialog.texts or ("",)
        last.append(texts[-1])
        previous.append(texts[-2] if len(texts) > 1 else "")
        history.append(" ".join(texts[:-1]))
        row = {"turns": math.log1p(len(dialog.texts)), "first_turn": float(len(dialog.texts) <= 1)}
        if not use_length:
            row = {"bias": 1.0}
        if use_labels:
            for turn_labels in dialog.labels:
                for label in turn_labels:
                    row[f"seen={label}"] = 1.0
            for label in dialog.labels[-1] if dialog.labels else ():
                row[f"last={label}"] = 1.0
            if dialog.last_request:
                row[f"request={dialog.last_request}"] = 1.0
        tokens.append(row)
    return last, previous, history, tokens


BUNDLE_FILE = "model.joblib"
"""The dialog models' file: the fitted featurizer and its classifier, together."""


def save_bundle(folder: Path, featurizer: DialogFeaturizer, classifier) -> None:
    joblib.dump({"featurizer": featurizer, "classifier": classifier}, folder / BUNDLE_FILE)


def load_bundle(folder: Path) -> tuple[DialogFeaturizer, object]:
    """(featurizer, classifier) of a dialog model's artifact folder."""
    bundle = joblib.load(folder / BUNDLE_FILE)
    return bundle["featurizer"], bundle["classifier"]
