"""The folds of `scripts/cv_intents.py`: stratified, disjoint, every example held out exactly once."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

from first_line.training_data import Example

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cv_intents.py"
spec = importlib.util.spec_from_file_location("cv_intents", SCRIPT)
cv_intents = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cv_intents)

EXAMPLES = [Example(f"{intent} message {i}", intent) for intent in ("a", "b", "c") for i in range(40)]


def test_every_example_is_held_out_once_and_each_fold_keeps_the_intent_shares():
    dealt = cv_intents.folds_of(EXAMPLES, 5, seed=1)
    held_out = [e.text for fold in dealt for e in fold]
    assert sorted(held_out) == sorted(e.text for e in EXAMPLES)
    for fold in dealt:
        assert Counter(e.intent for e in fold) == {"a": 8, "b": 8, "c": 8}


def test_a_fold_split_trains_on_the_other_folds_with_an_eighth_for_dev():
    dealt = cv_intents.folds_of(EXAMPLES, 5, seed=1)
    splits = cv_intents.split_for(dealt, held_out=2)
    train, dev, test = ({e.text for e in part} for part in (splits.train, splits.dev, splits.test))
    assert test == {e.text for e in dealt[2]}
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert len(train) + len(dev) == 96
    assert Counter(e.intent for e in splits.dev) == {"a": 4, "b": 4, "c": 4}
