"""The intent model's nearest-neighbour view (first_line/neighbour_scorer.py)."""

from __future__ import annotations

import numpy as np
import pytest

from first_line.artifacts import load_manifest
from first_line.neighbour_scorer import NEIGHBOURS, NeighbourScorer


def test_takes_the_closest_training_message_of_each_intent():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(40, 8)).astype(np.float32)
    train /= np.linalg.norm(train, axis=1, keepdims=True)
    labels = rng.permutation(np.arange(40) % 5)
    queries = train[:6] + 0.01
    scorer = NeighbourScorer(train, labels, n_intents=5, temperature=0.05)
    similarity = queries @ train.T
    expected = np.stack([similarity[:, labels == i].max(1) for i in range(5)], axis=1)
    assert np.allclose(scorer.best_similarities(queries), expected, atol=0.02)  # int8 rounding
    log_p = scorer.log_probabilities(queries)
    assert np.allclose(np.exp(log_p).sum(1), 1.0, atol=1e-5)
    assert list(log_p.argmax(1)) == list(labels[:6]), "a near-copy of a training message gets its label"
    with pytest.raises(ValueError, match="at least one training message"):
        NeighbourScorer(train, labels % 4, n_intents=5, temperature=0.05)


def test_the_trained_artifact_scores_as_float32_cosines_do(artifacts_dir, splits):
    """On the trained model's own embeddings the int8 product moves a best cosine by under 0.005 and
    picks the same closest intent for nearly every message."""
    from first_line.intent_model import IntentModel

    folder = artifacts_dir / "intents"
    n_intents = len(load_manifest(folder, "intents").labels)
    scorer = NeighbourScorer.load(folder / NEIGHBOURS, n_intents, temperature=0.05)
    stored = np.load(folder / NEIGHBOURS)
    embeddings, labels = stored["embeddings"].astype(np.float32), stored["labels"]
    queries = IntentModel(folder).encoder.encode([e.text for e in splits.test[:200]])
    cosines = queries @ embeddings.T
    expected = np.stack([cosines[:, labels == i].max(1) for i in range(n_intents)], axis=1)
    best = scorer.best_similarities(queries)
    assert np.abs(best - expected).max() < 0.005
    assert (best.argmax(1) == expected.argmax(1)).mean() >= 0.99
