"""Are the intent thresholds, tuned on messages read alone, as precise for messages read with a context?

The thresholds come from out-of-fold scores of messages without a context (`intent_training`), but a turn is
read with the client's earlier messages. This reads each held-out message three ways: alone, after a training
message of the same intent, and after one of another intent (a seeded draw), and reports, at each target, the
share answered, the realised precision and the wrong answers of each reading against the shipped thresholds.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/context_thresholds.py [--artifact artifacts/intents]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from first_line.domain import load_domain  # noqa: E402
from first_line.intent_model import IntentModel  # noqa: E402
from first_line.intent_training import DEV_PROBABILITIES  # noqa: E402
from first_line.thresholds import tune_thresholds  # noqa: E402
from first_line.training_data import Example  # noqa: E402
from first_line.training_pipeline import load_splits  # noqa: E402

DOMAIN_DIR = REPO / "domains" / "demo_bank"
TARGETS = (0.95, 0.98, 0.99)


def contexts(test: list[Example], train: list[Example], seed: int) -> dict[str, list[list[str]]]:
    """Each held-out message's context for the three readings."""
    rng = random.Random(seed)
    by_intent: dict[str, list[str]] = {}
    for example in train:
        by_intent.setdefault(example.intent, []).append(example.text)
    intents = sorted(by_intent)
    same = [[rng.choice(by_intent[e.intent])] for e in test]
    other = [[rng.choice(by_intent[rng.choice([i for i in intents if i != e.intent])])] for e in test]
    return {"alone": [[] for _ in test], "same-intent context": same, "other-intent context": other}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", default=str(REPO / "artifacts" / "intents"))
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    model = IntentModel(Path(args.artifact), threads=2, cache_size=100_000)
    domain = load_domain(DOMAIN_DIR)
    splits = load_splits(Path(args.data_dir), DOMAIN_DIR)
    known = set(model.intents)
    test = [e for e in splits.test if e.intent in known]
    labels = np.array([model.intents.index(e.intent) for e in test])
    readings = {
        name: model.probabilities([e.text for e in test], context)
        for name, context in contexts(test, splits.train, args.seed).items()
    }
    dev = np.load(Path(args.artifact) / DEV_PROBABILITIES)
    policy = domain.settings.policy
    print(f"{len(test)} held-out messages; answered / realised precision / wrong answers")
    for target in TARGETS:
        thresholds = tune_thresholds(
            dev["probabilities"], dev["labels"], model.intents, target,
            policy.threshold_prior_strength, domain.threshold_overrides,
        )  # fmt: skip
        cut = np.array([thresholds.for_intent(i) for i in model.intents])
        cells = []
        for name, probabilities in readings.items():
            best, confidence = probabilities.argmax(1), probabilities.max(1)
            answered = confidence >= cut[best]
            right = best == labels
            precision = right[answered].mean() if answered.any() else float("nan")
            cells.append(f"{name} {answered.mean():.1%} / {precision:.2%} / {int((answered & ~right).sum())}")
        print(f"target {target}: " + " | ".join(cells))


if __name__ == "__main__":
    main()
