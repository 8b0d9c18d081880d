"""The swept-threshold figure of `scripts/sweep_censor.py`: blocked share at a false-block cap."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "sweep_censor.py"
spec = importlib.util.spec_from_file_location("sweep_censor", SCRIPT)
sweep_censor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep_censor)

LABELS = np.array([0] * 10 + [1] * 4)
POLITE_SCORES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
SCORES = np.array([*POLITE_SCORES, 0.97, 0.92, 0.85, 0.5])


def test_no_false_block_allowed_blocks_only_above_every_polite_score():
    assert sweep_censor.blocked_at(SCORES, LABELS, 0.0) == 0.25


def test_each_allowed_polite_row_lowers_the_threshold_past_one_polite_score():
    assert sweep_censor.blocked_at(SCORES, LABELS, 0.1) == 0.5  # 0.95 may be blocked: 0.97, 0.92 pass it
    assert sweep_censor.blocked_at(SCORES, LABELS, 0.25) == 0.75  # two polite rows: above 0.8


def test_a_cap_of_every_polite_row_blocks_everything():
    assert sweep_censor.blocked_at(SCORES, LABELS, 1.0) == 1.0


def test_the_threshold_named_blocks_what_the_sweep_counts():
    for cap in (0.0, 0.1, 0.25):
        threshold = sweep_censor.threshold_at(SCORES, LABELS, cap)
        blocked = threshold <= SCORES  # the censor blocks at or above its threshold
        assert blocked[LABELS == 1].mean() == sweep_censor.blocked_at(SCORES, LABELS, cap)
        assert blocked[LABELS == 0].mean() <= cap
    assert sweep_censor.threshold_at(SCORES, LABELS, 1.0) == 0.0
