"""Pinned embeddings: the bot's answers are embedded once per process and model file, exactly as a turn
embeds them, and client messages never evict them from the cache."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_batched_embeddings_are_the_same_in_every_process(artifacts_dir, tmp_path):
    """The int8 graph quantises each batch as a whole, so the batches must not depend on the process's
    hash seed: training on these embeddings is reproducible only if they are the same every run."""
    folder = IntentModel(artifacts_dir / "intents").encoder.model_dir
    script = (
        "import sys, numpy as np\n"
        "from first_line.text_encoder import TextEncoder\n"
        "texts = [f'card {i:02d} lost' for i in range(24)] + [f'{i:02d}th top-up failed' for i in range(9)]\n"
        "np.save(sys.argv[2], TextEncoder(sys.argv[1], cache_size=0).encode(texts, batch_size=8))\n"
    )
    runs = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}.npy"
        env = os.environ | {"PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", script, str(folder), str(out)]
        subprocess.run(command, env=env, check=True, timeout=120)
        runs.append(np.load(out))
    assert np.array_equal(runs[0], runs[1])
