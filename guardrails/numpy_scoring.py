"""Scoring of the guardrails' small binary sklearn models in plain numpy: the same maths without
sklearn's per-call input validation, which costs more than the models themselves on one answer's 2-5
sentences (~0.7 ms per call; an answer makes five). Checked against sklearn in the tests.

The RBF heads' products with their stored rows (the bank-style rows and the E5 head's support vectors,
3,500-9,300 x 384) run in int8 (`Int8Matrix`, as the intent model's neighbour matrix does): in float32
(5-14 MB) they were read from memory for every answer. A product moves by at most ~0.004, and a row
reads the same alone or in a batch, so training, which scores its rows through these classes, and serving
agree."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from first_line.int8_matrix import Int8Matrix
from first_line.tfidf_scorer import TfidfScorer


class RbfMargin:
    """`SVC(kernel="rbf").decision_function` of a binary SVC."""

    def __init__(self, model: SVC) -> None:
        if model.kernel != "rbf" or len(model.classes_) != 2:
            raise ValueError("RbfMargin scores a binary RBF SVC")
        vectors = np.asarray(model.support_vectors_, dtype=np.float64)
        self._vectors = Int8Matrix(vectors.T)
        self._squared = (vectors**2).sum(axis=1)
        self._coef = np.asarray(model.dual_coef_[0], dtype=np.float64)
        self._intercept = float(model.intercept_[0])
        self._gamma = float(model._gamma)

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return self.from_products(x, self._vectors.product(x))

    def from_products(self, x: np.ndarray, products: np.ndarray) -> np.ndarray:
        """The margin from `x`'s dot products with the support vectors (one column each, in order)."""
        distances = (
            (np.asarray(x, dtype=np.float64) ** 2).sum(axis=1)[:, None]
            + self._squared
            - 2.0 * products.astype(np.float64)
        )
        return np.exp(-self._gamma * np.maximum(distances, 0.0)) @ self._coef + self._intercept


class BankStyleScorer:
    """The censor's three readings of the bank-style training rows from one product with them: the RBF
    head's margin (its support vectors are among those rows) and the cosine to the nearest inappropriate
    and the nearest polite row. The rows are ~9,300 x 384; reading them once instead of twice (a product
    for the prototypes, another for the support vectors) is most of what this saves."""

    def __init__(self, model: SVC, prototypes: dict[str, np.ndarray]) -> None:
        rows = np.vstack([prototypes["bad"], prototypes["good"]]).astype(np.float32)
        self._rows = Int8Matrix(rows.T)
        self._bad = len(prototypes["bad"])
        position = {row.tobytes(): i for i, row in enumerate(rows)}
        support = np.asarray(model.support_vectors_, dtype=np.float32)
        missing = [i for i, vector in enumerate(support) if vector.tobytes() not in position]
        if missing:
            raise ValueError(f"{len(missing)} support vectors are not among the bank-style rows")
        self._support = np.array([position[vector.tobytes()] for vector in support])
        self._margin = RbfMargin(model)

    def readings(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(margin, cosine to the nearest bad row, cosine to the nearest polite row) per row of `x`."""
        x = np.asarray(x, dtype=np.float32)
        products = self._rows.product(x)
        margin = self._margin.from_products(x, products[:, self._support])
        return margin, products[:, : self._bad].max(axis=1), products[:, self._bad :].max(axis=1)


class BinaryLogistic:
    """`LogisticRegression.predict_proba` of a binary model."""

    def __init__(self, model: LogisticRegression) -> None:
        if len(model.classes_) != 2:
            raise ValueError("BinaryLogistic scores a binary logistic regression")
        self.classes_ = model.classes_
        self._coef = np.asarray(model.coef_[0], dtype=np.float64)
        self._intercept = float(model.intercept_[0])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        positive = 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) @ self._coef + self._intercept)))
        return np.column_stack([1.0 - positive, positive])


class LinearClassifier:
    """`LogisticRegression.predict` (the class of the largest decision value, which is the class of the
    largest probability) of a model with several classes."""

    def __init__(self, model: LogisticRegression) -> None:
        if len(model.classes_) < 3:
            raise ValueError("LinearClassifier names one of several classes")
        self.classes_ = model.classes_
        self._coef_t = np.ascontiguousarray(np.asarray(model.coef_, dtype=np.float64).T)
        self._intercept = np.asarray(model.intercept_, dtype=np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        decision = np.asarray(x, dtype=np.float64) @ self._coef_t + self._intercept
        return self.classes_[np.argmax(decision, axis=1)]


class BinaryTfidfScorer(TfidfScorer):
    """`TfidfScorer` for a binary classifier (`linear_weights` gives the negative class zero weights)."""

    def positive_probabilities(self, texts: list[str]) -> np.ndarray:
        return np.exp(self.log_probabilities(texts))[:, 1]
