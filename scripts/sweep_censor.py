"""Share of inappropriate answers the censor blocks at fixed false-block rates, per tone set and pooled:
the threshold is swept over the polite rows' scores instead of taken from the artifact, so censors with
different thresholds compare on one curve. Each cell names the threshold that does it: run on a bank's own
polite and inappropriate answers, that is a value for TWOLINE_SECOND_LINE_CENSOR_THRESHOLD. A sentence a rule
fires on is flagged at any threshold, so above the trained one both shares read here are floors: check the
choice with `twoline eval tone` at it.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/sweep_censor.py guardrails/data/bank_tone_heldout1[456].csv \
        [--censor artifacts/censor] [--caps 0.02 0.03 0.05]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardrails.censor import Censor


def blocked_at(scores: np.ndarray, labels: np.ndarray, false_block_cap: float) -> float:
    """Blocked share of label-1 rows when at most `false_block_cap` of the label-0 rows are blocked
    (a row is blocked when its score is above the polite score ranked just past the cap)."""
    return float((scores[labels == 1] > _polite_score_past(scores, labels, false_block_cap)).mean())


def threshold_at(scores: np.ndarray, labels: np.ndarray, false_block_cap: float) -> float:
    """The censor threshold (blocked at or above it) that blocks what `blocked_at` counts: just above the
    polite score ranked past the cap (0 when the cap allows every polite row)."""
    return max(0.0, float(_polite_score_past(scores, labels, false_block_cap)) + 1e-6)


def _polite_score_past(scores: np.ndarray, labels: np.ndarray, false_block_cap: float) -> float:
    polite = np.sort(scores[labels == 0])[::-1]
    allowed = int(np.floor(false_block_cap * len(polite)))
    return polite[allowed] if allowed < len(polite) else -np.inf


def score_set(censor: Censor, path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores = np.array([censor.run(row["text"], row["language"]).score for row in rows])
    return scores, np.array([int(row["label"]) for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--censor", type=Path, default=Path("artifacts/censor"))
    parser.add_argument("--caps", nargs="+", type=float, default=[0.02, 0.03, 0.05])
    args = parser.parse_args()
    censor = Censor(args.censor, threads=1)
    scored = {path.stem: score_set(censor, path) for path in args.sets}
    if len(scored) > 1:
        scored["pooled"] = tuple(np.concatenate(part) for part in zip(*scored.values(), strict=True))
    for name, (scores, labels) in scored.items():
        cells = [
            f"{100 * blocked_at(scores, labels, cap):.1f}% at {100 * cap:g}% "
            f"(threshold {threshold_at(scores, labels, cap):.4f})"
            for cap in args.caps
        ]
        print(f"{name}: {', '.join(cells)}")


if __name__ == "__main__":
    main()
