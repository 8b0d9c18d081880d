"""Pinned embeddings: the bot's answers are embedded once per process and model file, exactly as a turn
embeds them, and client messages never evict them from the cache."""

from __future__ import annotations

import numpy as np

from first_line.intent_model import IntentModel
from first_line.text_encoder import TextEncoder


def test_pinned_texts_survive_the_lru_and_are_shared_by_encoders_on_the_same_file(artifacts_dir):
    folder = IntentModel(artifacts_dir / "intents").encoder.model_dir
    answers = ["Your card is on its way.", "The transfer has been sent."]
    first = TextEncoder(folder, cache_size=1)
    first.pin(answers)
    alone = TextEncoder(folder, cache_size=0).encode([answers[0]], batch_size=1)[0]
    assert np.allclose(first.encode([answers[0]])[0], alone)  # as a turn embeds it: alone, not in a batch
    first.encode(["client message one", "client message two"])  # fills the one-slot LRU
    second = TextEncoder(folder, cache_size=1)
    second.pin(answers)
    runs: list[list[str]] = []
    real_run = second._run
    second._run = lambda texts: runs.append(list(texts)) or real_run(texts)
    assert np.allclose(second.encode(answers), first.encode(answers))
    assert runs == []  # pinned by the first encoder: nothing embedded again
