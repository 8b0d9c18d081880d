"""Threshold tuning: target precision on dev, shrinkage of thin intents, overrides."""

from __future__ import annotations

import numpy as np

from first_line.thresholds import NEVER, lowest_threshold_at_precision, tune_thresholds


def test_lowest_threshold_at_precision():
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7])
    correct = np.array([1, 1, 1, 0, 1], dtype=float)
    assert lowest_threshold_at_precision(confidence, correct, 1.0) == 0.9
    assert lowest_threshold_at_precision(confidence, correct, 0.8) == 0.7
    assert lowest_threshold_at_precision(np.array([0.9]), np.array([0.0]), 0.9) == NEVER
    assert lowest_threshold_at_precision(np.array([]), np.array([]), 0.9) == NEVER


def synthetic_dev(seed: int = 0, n: int = 3000, intents: int = 4):
    """Calibrated predictions, except intent 0 whose answers are right more often than it claims."""
    rng = np.random.default_rng(seed)
    predicted = rng.integers(0, intents, n)
    confidence = rng.uniform(0.3, 1.0, n)
    p_correct = np.where(predicted == 0, np.minimum(1.0, confidence + 0.15), confidence)
    correct = rng.random(n) < p_correct
    labels = np.where(correct, predicted, (predicted + 1) % intents)
    probabilities = np.full((n, intents), 0.0)
    probabilities[np.arange(n), predicted] = confidence
    probabilities[np.arange(n), (predicted + 1) % intents] = (1 - confidence) * 0.99
    return probabilities, labels


def test_reliable_intent_gets_a_lower_threshold_and_overall_precision_holds():
    probabilities, labels = synthetic_dev()
    names = ["reliable", "b", "c", "d"]
    table = tune_thresholds(probabilities, labels, names, 0.95, prior_strength=20)
    assert table.per_intent["reliable"] < table.global_threshold
    predicted, confidence = probabilities.argmax(1), probabilities.max(1)
    limits = np.array([table.per_intent[names[i]] for i in predicted])
    answered = confidence >= limits
    assert (predicted[answered] == labels[answered]).mean() >= 0.95
    global_answered = confidence >= table.global_threshold
    assert answered.mean() > global_answered.mean(), "per-intent thresholds answer more at the same target"


def test_strong_prior_pulls_every_intent_to_the_global_threshold():
    probabilities, labels = synthetic_dev()
    table = tune_thresholds(probabilities, labels, ["a", "b", "c", "d"], 0.95, prior_strength=1e6)
    assert max(abs(t - table.global_threshold) for t in table.per_intent.values()) < 0.02


def test_overrides_win():
    probabilities, labels = synthetic_dev()
    table = tune_thresholds(
        probabilities, labels, ["a", "b", "c", "d"], 0.95, 20, overrides={"b": 0.999, "zzz": 0.1}
    )
    assert table.per_intent["b"] == 0.999
    assert table.overridden == ["b"]
    assert "zzz" not in table.per_intent
