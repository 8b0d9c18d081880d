"""The encoders with each layer's attention fused (what runs, `first_line/attention_fusion.py`) against the
same graphs unfused: are the embeddings equal, and what a sentence costs, one thread, one sentence a run,
the two graphs interleaved sentence by sentence (so a host whose speed drifts weighs on both alike).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_attention_fusion.py [--intents artifacts/intents]

MiniLM: the intent model's fused `encoder.int8.onnx` against its `encoder.fp32.onnx` quantised unfused, on
BANKING77 messages. E5: the cached graph against one exported unfused (~18 s, the shallow graph built
beside it), on the bank-tone held-out sets' sentences.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from first_line.e5_file import packaged_e5  # noqa: E402
from first_line.e5_graph import export_e5_graph  # noqa: E402
from first_line.multilingual_encoder import MultilingualEncoder  # noqa: E402
from first_line.text_encoder import ONNX_FP32, ONNX_INT8, TextEncoder  # noqa: E402
from guardrails.text import split_sentences  # noqa: E402


def interleaved(run_a, run_b, texts: list[str]) -> tuple[float, float]:
    """Mean CPU ms a text of `run_a` and `run_b`, each text run by both, the first alternating."""
    spent = [0.0, 0.0]
    for index, text in enumerate(texts):
        order = ((0, run_a), (1, run_b)) if index % 2 == 0 else ((1, run_b), (0, run_a))
        for slot, run in order:
            started = time.thread_time()
            run(text)
            spent[slot] += time.thread_time() - started
    return 1000 * spent[0] / len(texts), 1000 * spent[1] / len(texts)


def report(name: str, unfused: np.ndarray, fused: np.ndarray, times: tuple[float, float], count: int) -> None:
    equal = int((unfused == fused).all(axis=1).sum())
    before, after = times
    largest = np.abs(unfused - fused).max()
    print(f"{name}: {equal} of {count} embeddings equal (largest difference {largest:.1e});")
    print(f"  unfused {before:.3f} ms, fused {after:.3f} ms a text ({100 * (after / before - 1):+.1f}%)")


def minilm(intents: Path, texts: list[str], work: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    plain = work / "minilm"
    plain.mkdir()
    for path in intents.iterdir():
        if path.is_file() and path.suffix != ".onnx":
            (plain / path.name).write_bytes(path.read_bytes())
    quantize_dynamic(str(intents / ONNX_FP32), str(plain / ONNX_INT8), weight_type=QuantType.QInt8)
    fused = TextEncoder(intents, quantized=True, threads=1, cache_size=0, batch_size=1)
    unfused = TextEncoder(plain, quantized=True, threads=1, cache_size=0, batch_size=1)
    times = interleaved(lambda t: unfused.encode([t]), lambda t: fused.encode([t]), texts)
    report("MiniLM", unfused.encode(texts), fused.encode(texts), times, len(texts))


def e5(texts: list[str], work: Path) -> None:
    source = packaged_e5()
    fused = MultilingualEncoder(threads=1, cache_size=0)
    folder = work / "e5"
    export_e5_graph(folder, source, fuse=False)
    unfused = MultilingualEncoder(threads=1, cache_size=0, graph_dir=folder)
    times = interleaved(lambda t: unfused.encode([t]), lambda t: fused.encode([t]), texts)
    report("E5", unfused.encode(texts), fused.encode(texts), times, len(texts))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--intents", default="artifacts/intents", help="an intents artifact with its fp32 graph"
    )
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with open(Path(args.data_dir) / "banking77" / "train.csv", newline="", encoding="utf-8") as handle:
        messages = [row["text"] for row in csv.DictReader(handle)][: args.count]
    sentences: list[str] = []
    for path in sorted((REPO / "guardrails" / "data").glob("bank_tone_heldout*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            sentences += [s.text for row in csv.DictReader(handle) for s in split_sentences(row["text"])]
    with tempfile.TemporaryDirectory(prefix="fusion-bench-") as work:
        minilm(Path(args.intents), messages, Path(work))
        e5(sentences[: args.count], Path(work))


if __name__ == "__main__":
    main()
