"""Second-line answer latency (p50/p95) per backend, and the embedded model's tokens/s.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_second_line.py --index artifacts/knowledge_base \
        --questions evals/data/askcfpb_paraphrases_dev.jsonl --backend extractive --n 30

Runs the real answerer (retrieval, relevance floor, generation, citations) on each question.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--backend", default="extractive", choices=["extractive", "embedded", "openai"])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    from first_line.domain import load_domain
    from router.policy import Turn
    from router.settings import Settings
    from second_line.config import SecondLineSettings
    from second_line.factory import build_second_line

    settings = Settings()
    domain = load_domain(settings.domain_dir)
    config = SecondLineSettings(
        index_dir=args.index, backend=args.backend, openai_base_url=args.base_url, timeout_s=args.timeout
    )
    answerer = build_second_line(config, args.index.parent, domain, settings.domain_dir)
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line]
    latencies, outcomes, tokens, seconds = [], Counter(), 0, 0.0
    answerer.answer(Turn(dialog_key="warm", text=questions[0]))
    for question in questions[: args.n]:
        started = time.perf_counter()
        decision = answerer.answer(Turn(dialog_key="bench", text=question))
        latencies.append((time.perf_counter() - started) * 1000)
        record = decision.scores.get("second_line", {})
        failure = record.get("generator_failure")
        outcomes[f"{decision.kind}/{decision.reason}/{record.get('backend')}/{failure}"] += 1
        generator = answerer.generator
        if getattr(generator, "last_tokens", 0):
            tokens += generator.last_tokens
            seconds += generator.last_seconds
    latencies.sort()
    report = {
        "backend": args.backend,
        "engine": getattr(answerer.generator, "engine", None),
        "questions": len(latencies),
        "answer_ms_p50": round(statistics.median(latencies), 1),
        "answer_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "outcomes": dict(outcomes),
        "generated_tokens_per_s": round(tokens / seconds, 1) if seconds else None,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
