"""The English profanity lexicon model of `alt-profanity-check`, scored without sklearn's per-call cost.

The package is a word TF-IDF + linear SVM, Platt-calibrated in 5 folds, trained on ~200k labelled
comments: a lexicon in effect, good at swear words and slurs, blind to bank tone. The censor uses its
probability as one input for English insults (next to its own trained heads); `twoline eval tone`
reports it alone as the baseline. `predict_prob` spends ~4 ms in sklearn for one sentence; this is the
same maths (checked against it in the tests) in ~0.1 ms.
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np


class ProfanityLexicon:
    def __init__(self) -> None:
        import profanity_check.profanity_check as package

        vectorizer, model = package.vectorizer, package.model
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary = vectorizer.vocabulary_
        self._idf = vectorizer.idf_
        self._folds = [
            (c.estimator.coef_[0].astype(np.float64), float(c.estimator.intercept_[0]),
             float(c.calibrators[0].a_), float(c.calibrators[0].b_))
            for c in model.calibrated_classifiers_
        ]  # fmt: skip

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return np.array([self._one(text) for text in texts])

    def _one(self, text: str) -> float:
        counts = Counter(
            i for token in self._analyzer(text) if (i := self._vocabulary.get(token)) is not None
        )
        if counts:
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts)) * self._idf[index]
            values /= np.linalg.norm(values)
        else:
            index, values = np.zeros(0, dtype=np.int64), np.zeros(0)
        probabilities = []
        for coef, intercept, a, b in self._folds:
            decision = float(values @ coef[index]) + intercept
            probabilities.append(1.0 / (1.0 + np.exp(a * decision + b)))
        return float(np.mean(probabilities))


@functools.cache
def profanity_lexicon() -> ProfanityLexicon:
    return ProfanityLexicon()
