"""A fitted logistic regression as one weight row per class, two-class ones included.

sklearn keeps a two-class model as a single row z (the second class's log-odds), and its
`decision_function` gives one column; softmax([0, z]) is sigmoid(z), so a zero row for the first class
makes it read like any other: a domain with two intents (or two pools, or two Russian intents) is scored
as one with eighty, instead of every message going to the first class."""

from __future__ import annotations

import numpy as np


def class_weights(classifier) -> tuple[np.ndarray, np.ndarray]:
    """(classes, features) weights and (classes,) bias of a fitted logistic regression."""
    weights = np.asarray(classifier.coef_, dtype=np.float64)
    bias = np.asarray(classifier.intercept_, dtype=np.float64)
    if weights.shape[0] == 1 and len(classifier.classes_) == 2:
        weights = np.vstack([np.zeros_like(weights), weights])
        bias = np.concatenate([[0.0], bias])
    return weights, bias


def class_logits(classifier, features: np.ndarray) -> np.ndarray:
    """(n, classes) logits whose softmax is the classifier's `predict_proba`."""
    weights, bias = class_weights(classifier)
    return features @ weights.T + bias
