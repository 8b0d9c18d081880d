"""Per-intent thresholds against one global threshold at the same *realised* precision on held-out rows.

`twoline eval intents` compares the schemes at the same *target* precision (the domain's, tuned on the dev
split the artifact carries). A scheme can then look better by realising a lower precision. This sweeps the
target in steps of 0.25 points, scores both schemes on the held-out split, and reads each scheme's upper
envelope (the most automation among the targets whose realised precision reaches p) at several p.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/threshold_schemes.py [--prior-strength 5 20 50]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from first_line.intent_model import IntentModel  # noqa: E402
from first_line.intent_training import DEV_PROBABILITIES  # noqa: E402
from first_line.thresholds import Thresholds, tune_thresholds  # noqa: E402
from first_line.training_pipeline import load_splits  # noqa: E402

TARGETS = np.arange(0.95, 0.996, 0.0025)
READ_AT = (0.96, 0.965, 0.97, 0.975, 0.98, 0.985, 0.99)


def realised(thresholds: Thresholds, probabilities: np.ndarray, y: np.ndarray, labels: list[str]) -> tuple:
    """(automation, precision of the answered) of a threshold table on scored rows."""
    predicted, confidence = probabilities.argmax(1), probabilities.max(1)
    answered = confidence >= np.array([thresholds.for_intent(labels[i]) for i in predicted])
    return float(answered.mean()), float((predicted == y)[answered].mean()) if answered.any() else 1.0


def envelope(points: list[tuple[float, float]], precision: float) -> float:
    """The most automation among the points whose realised precision reaches `precision`."""
    return max((a for a, p in points if p >= precision), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prior-strength", type=float, nargs="+", default=[5.0, 20.0, 50.0])
    parser.add_argument("--artifact", default=str(REPO / "artifacts" / "intents"))
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    model = IntentModel(Path(args.artifact), threads=2, cache_size=100_000)
    labels = model.manifest.labels
    splits = load_splits(Path(args.data_dir), REPO / "domains" / "demo_bank")
    test = [e for e in splits.test if e.intent in labels]
    y = np.array([labels.index(e.intent) for e in test])
    probabilities = model.probabilities([e.text for e in test])
    dev = np.load(Path(args.artifact) / DEV_PROBABILITIES)

    def curve(strength: float, global_only: bool) -> list[tuple[float, float]]:
        tables = (
            tune_thresholds(dev["probabilities"], dev["labels"], labels, float(t), strength) for t in TARGETS
        )
        if global_only:
            tables = (table.model_copy(update={"per_intent": {}}) for table in tables)
        return [realised(table, probabilities, y, labels) for table in tables]

    print(f"held-out rows: {len(test)}; automation (%) at realised precision p, per-intent / global")
    one_threshold = curve(20.0, global_only=True)
    print("p:            " + "  ".join(f"{p * 100:>10.1f}" for p in READ_AT))
    for strength in args.prior_strength:
        per_intent = curve(strength, global_only=False)
        cells = (
            f"{envelope(per_intent, p) * 100:4.1f} / {envelope(one_threshold, p) * 100:4.1f}" for p in READ_AT
        )
        print(f"strength {strength:>5.0f}: " + "  ".join(cells))


if __name__ == "__main__":
    main()
