"""The int8 encoders' cost per sentence with the project's onnxruntime sessions (`cpu_session`: every
graph optimisation but `SLOWER_FUSIONS`) against sessions with every optimisation on, and where a run's
time goes per operator type (`--profile`). One thread, one sentence a run, as the service runs them.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_onnx_fusions.py [--encoder artifacts/censor] [--profile]

Prints, for MiniLM (the encoder in `--encoder`) and E5, the ms a sentence of each session kind over
`--rounds` alternated rounds, and the largest difference between their embeddings.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from first_line.e5_graph import GRAPH, ensure_e5_graph
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.onnx_session import SLOWER_FUSIONS, cpu_session
from first_line.text_encoder import ONNX_INT8
from guardrails.encoder import load_encoder

SENTENCES = [
    "Honestly, only an idiot would miss three payments before asking.",
    "Once submitted, a specialist will review your request within five working days.",
    "To request a mortgage payment holiday, open the Mortgage section in the app and choose 'Payment"
    " options'.",
]


def minilm_feeds(folder: Path) -> list[dict[str, np.ndarray]]:
    encoder = load_encoder(folder, cache_size=0)
    encoder.warm_up()
    feeds = []
    for sentence in SENTENCES:
        encoding = encoder._tokenizer.encode_batch([sentence])[0]
        feeds.append(
            {"input_ids": np.array([encoding.ids]), "attention_mask": np.array([encoding.attention_mask])}
        )
    return feeds


def e5_feeds() -> list[dict[str, np.ndarray]]:
    e5 = MultilingualEncoder(cache_size=0)
    e5.warm_up()
    feeds = []
    for sentence in SENTENCES:
        ids = np.array([e5._tokenizer.windows(sentence, e5._max_positions)[0]])
        feeds.append({"inputs_embeds": e5._words.lookup(ids), "attention_mask": np.ones_like(ids)})
    return feeds


def ms_per_sentence(session, feeds: list[dict[str, np.ndarray]], runs: int) -> float:
    for feed in feeds:
        session.run(None, feed)
    started = time.perf_counter()
    for _ in range(runs):
        for feed in feeds:
            session.run(None, feed)
    return (time.perf_counter() - started) / (runs * len(feeds)) * 1000


def operator_profile(
    graph: Path, feeds: list[dict[str, np.ndarray]], disabled: list[str], runs: int = 30
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        session = cpu_session(graph, disabled=disabled, profile_prefix=str(Path(folder) / "profile"))
        for _ in range(runs):
            for feed in feeds:
                session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    micros: collections.Counter[str] = collections.Counter()
    nodes: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            micros[event["args"]["op_name"]] += event["dur"]
            nodes[event["args"]["op_name"]] += 1
    total_runs = runs * len(feeds)
    off = ", ".join(disabled) or "nothing"
    print(f"  per run, {off} off: {sum(micros.values()) / total_runs:.0f} us in kernels")
    for operator, spent in micros.most_common(10):
        print(f"    {operator}: {spent / total_runs:.0f} us, {nodes[operator] / total_runs:.0f} nodes")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--encoder", type=Path, default=Path("artifacts/censor"), help="folder of the int8 MiniLM"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=60, help="runs of each sentence per round")
    parser.add_argument("--profile", action="store_true", help="also time each operator type")
    args = parser.parse_args()
    graphs = {
        "MiniLM": (args.encoder / ONNX_INT8, minilm_feeds(args.encoder)),
        "E5": (ensure_e5_graph() / GRAPH, e5_feeds()),
    }
    for name, (graph, feeds) in graphs.items():
        project, fused = cpu_session(graph), cpu_session(graph, disabled=[])
        difference = max(float(np.abs(project.run(None, f)[0] - fused.run(None, f)[0]).max()) for f in feeds)
        print(f"{name}: largest embedding difference {difference:.1e}")
        for _ in range(args.rounds):
            every = ms_per_sentence(fused, feeds, args.runs)
            ours = ms_per_sentence(project, feeds, args.runs)
            print(f"  every fusion {every:.3f} ms a sentence, the project's sessions {ours:.3f} ms")
        if args.profile:
            operator_profile(graph, feeds, [])
            operator_profile(graph, feeds, SLOWER_FUSIONS)


if __name__ == "__main__":
    main()
