"""The censor's numpy scoring gives what sklearn gives, on small real fits: exactly for the logistic
models, within the rounding of the int8 products for the RBF heads."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from guardrails.numpy_scoring import BankStyleScorer, BinaryLogistic, LinearClassifier, RbfMargin


def _data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x[:, 0] * x[:, 1] + 0.1 * rng.normal(size=200) > 0).astype(int)
    return x, y


def assert_margin_within_int8_rounding(margin: np.ndarray, expected: np.ndarray) -> None:
    """The int8 products move each kernel term a little; over ~140 support vectors the margin stays within
    2% of its range (1.3% measured), 0.5% on average (0.3%)."""
    error = np.abs(margin - expected)
    assert error.max() <= 0.02 * np.ptp(expected) and error.mean() <= 0.005 * np.ptp(expected)


def test_rbf_margin_matches_sklearn():
    x, y = _data()
    model = SVC(C=3.0, kernel="rbf", class_weight="balanced").fit(x[:150], y[:150])
    assert_margin_within_int8_rounding(
        RbfMargin(model).decision_function(x[150:]), model.decision_function(x[150:])
    )


def test_bank_style_readings_match_the_head_and_the_nearest_rows():
    x, y = _data()
    bad, good = x[:150][y[:150] == 1], x[:150][y[:150] == 0]
    model = SVC(C=3.0, kernel="rbf", class_weight="balanced").fit(x[:150], y[:150])
    margin, nearest_bad, nearest_good = BankStyleScorer(model, {"bad": bad, "good": good}).readings(x[150:])
    assert_margin_within_int8_rounding(margin, model.decision_function(x[150:]))
    # a cosine moves by ~0.003 in 384 dimensions, by more in these 16 (larger entries, coarser steps)
    np.testing.assert_allclose(nearest_bad, (x[150:] @ bad.T).max(axis=1), atol=0.01)
    np.testing.assert_allclose(nearest_good, (x[150:] @ good.T).max(axis=1), atol=0.01)


def test_bank_style_scorer_refuses_a_head_fitted_on_other_rows():
    x, y = _data()
    model = SVC(kernel="rbf").fit(x[:150], y[:150])
    with pytest.raises(ValueError, match="support vectors"):
        BankStyleScorer(model, {"bad": x[150:170], "good": x[170:]})


def test_binary_logistic_matches_sklearn():
    x, y = _data()
    model = LogisticRegression(C=1.0).fit(x[:150], y[:150])
    np.testing.assert_allclose(
        BinaryLogistic(model).predict_proba(x[150:]), model.predict_proba(x[150:]), atol=1e-6
    )


def test_linear_classifier_names_the_class_sklearn_names():
    x, _ = _data()
    categories = np.array(["insult", "promise", "sarcasm", "threat"])[(x[:, 0] > 0) + 2 * (x[:, 1] > 0)]
    model = LogisticRegression(C=4.0, class_weight="balanced").fit(x[:150], categories[:150])
    named = LinearClassifier(model).predict(x[150:])
    assert list(named) == list(model.predict(x[150:]))
    assert set(named) > {"insult"}  # several classes named, not one


def test_other_models_are_refused():
    x, y = _data()
    with pytest.raises(ValueError, match="binary RBF"):
        RbfMargin(SVC(kernel="linear").fit(x, y))
    with pytest.raises(ValueError, match="binary logistic"):
        BinaryLogistic(LogisticRegression().fit(x, y % 3 + (x[:, 2] > 0.5)))
    with pytest.raises(ValueError, match="several classes"):
        LinearClassifier(LogisticRegression().fit(x, y))


def test_an_answers_few_rows_read_as_in_a_large_batch():
    x, y = _data()
    bad, good = x[:150][y[:150] == 1], x[:150][y[:150] == 0]
    scorer = BankStyleScorer(SVC(C=3.0, kernel="rbf").fit(x[:150], y[:150]), {"bad": bad, "good": good})
    batched = scorer.readings(x[150:])
    for rows in (1, 3, 8):  # int8 products: each row is scaled on its own and summed exactly
        for alone, together in zip(scorer.readings(x[150 : 150 + rows]), batched, strict=True):
            np.testing.assert_allclose(alone, together[:rows], atol=1e-6)
