"""Confidence thresholds: when is the classifier sure enough to answer with a script?

A wrong scripted answer costs a bank more than a hand-off, so thresholds are set to reach a
target precision of answered messages (config: `policy.target_precision`, default 0.98) on
the dev split that the intent artifact carries:

- global: the lowest threshold at which the answered dev messages reach the target (what
  Rasa's FallbackClassifier and Dialogflow do, one number for every intent);
- per intent: the same, over the dev messages predicted as that intent, then shrunk towards the
  global threshold by `prior_strength` pseudo-examples, so that a thin intent with a handful of
  lucky dev messages does not get a reckless threshold;
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
    """Tune on calibrated dev probabilities (n, intents) and the true label indices (n,)."""
    predicted = probabilities.argmax(1)
    confidence = probabilities.max(1)
    correct = (predicted == labels).astype(np.float64)
    global_threshold = lowest_threshold_at_precision(confidence, correct, target_precision)
    per_intent: dict[str, float] = {}
    for index, intent in enumerate(intents):
        mine = predicted == index
        count = int(mine.sum())
        own = lowest_threshold_at_precision(confidence[mine], correct[mine], target_precision)
        own = min(own, 1.0) if count else global_threshold
        per_intent[intent] = (count * own + prior_strength * global_threshold) / (count + prior_strength)
    overrides = overrides or {}
    per_intent.update({i: t for i, t in overrides.items() if i in per_intent})
    return Thresholds(
        target_precision=target_precision,
        global_threshold=global_threshold,
        per_intent=per_intent,
        overridden=sorted(i for i in overrides if i in per_intent),
    )


def global_only(thresholds: Thresholds) -> Thresholds:
    """The same table with one global threshold for all intents (the comparison scheme)."""
    return Thresholds(
        target_precision=thresholds.target_precision,
        global_threshold=thresholds.global_threshold,
        per_intent={i: thresholds.global_threshold for i in thresholds.per_intent},
    )
