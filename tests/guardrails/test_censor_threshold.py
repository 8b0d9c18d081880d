"""The censor's threshold limits: each group of polite dev rows caps its false blocks; a small training run
whose dev split has no polite row of a group gets no limit from it, not a crash."""

from __future__ import annotations

import numpy as np

from guardrails.censor_training import _threshold_limits
from guardrails.tone_data import OK, ToneExample


def _example(source: str, category: str = OK) -> ToneExample:
    return ToneExample(text=f"{source} {category}", category=category, language="en", source=source)


def test_each_group_of_polite_rows_sets_a_limit_just_above_its_worst_allowed_score():
    dev = [_example("bank") for _ in range(4)] + [_example("bitext"), _example("bank", "insult")]
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.99])
    limits = _threshold_limits(dev, scores)
    assert np.isclose(limits["bank"], 0.4 + 1e-6)  # 1.5% of four rows: none may be blocked
    assert np.isclose(limits["support"], 0.6 + 1e-6)


def test_a_group_without_polite_dev_rows_sets_no_limit():
    dev = [_example("bank"), _example("bank", "sarcasm"), _example("wikipedia")]
    limits = _threshold_limits(dev, np.array([0.3, 0.9, 0.5]))
    assert limits == {"bank": 0.3 + 1e-6}
