"""A logistic regression as one weight row per class, two-class models included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from first_line.intent_model import softmax
from first_line.linear_head import class_logits, class_weights


@pytest.mark.parametrize("classes", [2, 3])
def test_softmax_of_the_class_logits_is_predict_proba(classes):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = np.arange(60) % classes
    model = LogisticRegression().fit(x, y)
    weights, bias = class_weights(model)
    assert weights.shape == (classes, 5) and bias.shape == (classes,)
    np.testing.assert_allclose(softmax(class_logits(model, x)), model.predict_proba(x), atol=1e-9)
