"""Confidence thresholds: when is the classifier sure enough to answer with a script?

A wrong scripted answer costs a bank more than a hand-off, so thresholds are set to reach a
target precision of answered messages (config: `policy.target_precision`, default 0.98) on
the dev split that the intent artifact carries:

- global: the lowest threshold at which the answered dev messages reach the target (what
  Rasa's FallbackClassifier and Dialogflow do, one number for every intent);
- per intent: the same target for the answered messages as a whole, but intents that are more
  (or less) reliable than their confidence says get a lower (or higher) threshold; each intent's
  own evidence is shrunk towards "as reliable as the confidence says" by `prior_strength`
  dev messages, so that a thin intent with a handful of lucky dev messages does not get a
  reckless threshold;
- manual overrides from `intents.yaml` win over both.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

NEVER = 1.01
"""Threshold that no probability reaches: the scheme cannot meet the target at all."""


class Thresholds(BaseModel):
    target_precision: float
    global_threshold: float
    per_intent: dict[str, float]
    overridden: list[str] = []

    def for_intent(self, intent: str) -> float:
        return self.per_intent.get(intent, self.global_threshold)


def lowest_threshold_at_precision(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The lowest threshold t such that predictions with confidence ≥ t are right ≥ target of the time."""
    if len(confidence) == 0:
        return NEVER
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    meets = np.nonzero(precision >= target)[0]
    if len(meets) == 0:
        return NEVER
    return float(confidence[order][meets[-1]])


def tune_thresholds(
    probabilities: np.ndarray,
    labels: np.ndarray,
    intents: list[str],
    target_precision: float,
    prior_strength: float,
    overrides: dict[str, float] | None = None,
) -> Thresholds:
    """Tune on calibrated dev probabilities (n, intents) and the true label indices (n,).

    Per-intent thresholds maximise the share of answered messages while the answered ones, all
    intents together, stay at the target precision: a message is answered when its estimated
    chance of being right, P(correct | confidence, intent), clears one cut-off. That estimate is
    a logistic model of the confidence with one offset per intent, shrunk towards zero (the
    intent is as reliable as its confidence says) with the weight of `prior_strength`
    dev messages; an intent's threshold is the confidence at which it reaches the cut-off.
    Without per-intent effects this is exactly the global threshold.
    """
    predicted = probabilities.argmax(1)
    confidence = probabilities.max(1)
    correct = (predicted == labels).astype(np.float64)
    global_threshold = lowest_threshold_at_precision(confidence, correct, target_precision)
    slope, bias, offsets = fit_reliability(confidence, predicted, correct, len(intents), prior_strength)
    per_intent: dict[str, float] = {}
    if slope > 0 and global_threshold < NEVER:
        score = slope * _logit(confidence) + bias + offsets[predicted]
        cutoff = lowest_threshold_at_precision(score, correct, target_precision)
        for index, intent in enumerate(intents):
            per_intent[intent] = float(_sigmoid((cutoff - bias - offsets[index]) / slope))
    else:  # degenerate dev set: fall back to the global threshold
        per_intent = dict.fromkeys(intents, global_threshold)
    overrides = overrides or {}
    per_intent.update({i: t for i, t in overrides.items() if i in per_intent})
    return Thresholds(
        target_precision=target_precision,
        global_threshold=global_threshold,
        per_intent=per_intent,
        overridden=sorted(i for i in overrides if i in per_intent),
    )


def fit_reliability(
    confidence: np.ndarray, predicted: np.ndarray, correct: np.ndarray, n_intents: int, prior_strength: float
) -> tuple[float, float, np.ndarray]:
    """P(correct) = sigmoid(slope · logit(confidence) + bias + offset[intent]), offsets L2-shrunk."""
    from scipy.optimize import minimize

    x = _logit(confidence)
    # A dev message carries about p(1-p) ≈ 0.1 units of information on an offset; the prior is
    # worth `prior_strength` such messages.
    penalty = 0.1 * prior_strength

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        slope, bias, offsets = params[0], params[1], params[2:]
        z = slope * x + bias + offsets[predicted]
        p = _sigmoid(z)
        nll = -np.sum(correct * np.log(p + 1e-12) + (1 - correct) * np.log(1 - p + 1e-12))
        residual = p - correct
        grad_offsets = np.bincount(predicted, weights=residual, minlength=n_intents) + penalty * offsets
        grad = np.concatenate([[np.dot(residual, x), residual.sum()], grad_offsets])
        return nll + 0.5 * penalty * float(np.dot(offsets, offsets)), grad

    start = np.zeros(n_intents + 2)
    start[0] = 1.0
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1]), result.x[2:]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def global_only(thresholds: Thresholds) -> Thresholds:
    """The same table with one global threshold for all intents (the comparison scheme)."""
    return Thresholds(
        target_precision=thresholds.target_precision,
        global_threshold=thresholds.global_threshold,
        per_intent={i: thresholds.global_threshold for i in thresholds.per_intent},
    )
