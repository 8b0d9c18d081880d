import numpy as np

from evals.tone_eval import _by_length


def test_by_length_splits_answer_sized_texts_from_long_comments():
    rows = [
        {"text": "Your card is on its way."},
        {"text": "You are an idiot."},
        {"text": "One. Two. Three. Four, and you are an idiot."},
        {"text": "One. Two. Three. Four."},
    ]
    labels = np.array([0, 1, 1, 0])
    ours = (np.array([0.1, 0.9, 0.8, 0.7]), np.array([False, True, True, True]))
    base = (np.array([0.2, 0.6, 0.1, 0.3]), np.array([False, True, False, False]))
    report = _by_length(rows, labels, ours, base)
    short, long = report["1-3 sentences"], report["4+ sentences"]
    assert (short["rows"], long["rows"]) == (2, 2)
    assert short["roc_auc"] == 1.0 and short["false_block_rate"] == 0.0
    assert long["block_rate"] == 1.0 and long["false_block_rate"] == 1.0
    assert long["baseline"]["roc_auc"] == 0.0 and long["baseline"]["block_rate"] == 0.0
