"""Pinned embeddings: the bot's answers are embedded once per process and model file, exactly as a turn
embeds them, and client messages never evict them from the cache. Shared embeddings: training stages
on the same model file embed a message once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np

from first_line.intent_model import IntentModel
from first_line.text_encoder import ONNX_INT8, TextEncoder, shared_embeddings


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
    second._run = lambda texts, session=None: runs.append(list(texts)) or real_run(texts, session)
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


def _counting_runs(encoder: TextEncoder) -> list[list[str]]:
    runs: list[list[str]] = []
    real_run = encoder._run
    encoder._run = lambda texts, session=None: runs.append(list(texts)) or real_run(texts, session)
    return runs


def test_encoders_on_the_same_model_content_share_single_text_embeddings_inside_the_block(
    artifacts_dir, tmp_path
):
    folder = IntentModel(artifacts_dir / "intents").encoder.model_dir
    renamed = tmp_path / "renamed"  # the same file content elsewhere: an artifact moved into place
    renamed.mkdir()
    for name in (ONNX_INT8, "tokenizer.json"):
        shutil.copy(folder / name, renamed / name)
    texts = ["my card has not arrived", "how do I top up by bank transfer"]
    with shared_embeddings():
        expected = TextEncoder(folder, cache_size=0).encode(texts, batch_size=1)
        second = TextEncoder(renamed, cache_size=0)
        second_runs = _counting_runs(second)
        assert np.array_equal(second.encode(texts, batch_size=1), expected)
        second.encode(["embedded in a batch", "of two texts"], batch_size=2)  # batch-dependent: not shared
        with shared_embeddings():  # a nested block keeps the outer one's embeddings
            third = TextEncoder(folder, cache_size=0)
            third_runs = _counting_runs(third)
            third.encode([*texts, "embedded in a batch"], batch_size=1)
    assert [set(run) for run in second_runs] == [{"embedded in a batch", "of two texts"}]
    assert third_runs == [["embedded in a batch"]]
    after = TextEncoder(renamed, cache_size=0)
    after_runs = _counting_runs(after)
    assert np.array_equal(after.encode(texts, batch_size=1), expected)
    assert len(after_runs) == 2  # the block is over: nothing is shared any more


def test_texts_embedded_on_two_threads_read_as_embedded_one_after_the_other(artifacts_dir):
    """Training embeds its sets one text at a time on two threads (`map_on_threads`): the same numbers."""
    texts = [f"my card number {i} has not arrived" for i in range(6)] + ["hi", "How do I top up?"]
    one = TextEncoder(artifacts_dir / "intents", threads=1, cache_size=0, batch_size=1).encode(texts)
    two = TextEncoder(artifacts_dir / "intents", threads=2, cache_size=0, batch_size=1).encode(texts)
    assert np.array_equal(one, two)
