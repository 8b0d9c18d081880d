"""`twoline eval grounding`: the grounding check on labelled (passages, response) pairs.

Input: a BEGIN TSV (`knowledge`, `response`, `begin_label`) or a HaluEval QA JSONL (`knowledge`,
`right_answer`, `hallucinated_answer`). A response counts as flagged when the checker rejects it or
drops any of its sentences. Reported: F1 on the unsupported responses, balanced accuracy, and the same
for the token-overlap baseline (share of the response's content words found in the passages, threshold
from the verifier's manifest). For BEGIN dev, the half the verifier never trained on is also reported
apart (`heldout_half`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from guardrails.grounding import GroundingChecker
from guardrails.grounding_data import GroundingPair, read_grounding_file
from guardrails.grounding_features import token_overlap
from guardrails.grounding_training import balanced_accuracy, f1_unsupported

DEFAULT_OVERLAP_THRESHOLD = 0.5


def _metrics(supported: np.ndarray, predicted_supported: np.ndarray, scores: np.ndarray) -> dict:
    both = len(set(supported.tolist())) == 2
    return {
        "rows": len(supported),
        "f1_unsupported": f1_unsupported(supported, predicted_supported),
        "balanced_accuracy": balanced_accuracy(supported, predicted_supported),
        "roc_auc": float(roc_auc_score(supported, scores)) if both else None,
    }


def _report(pairs: list[GroundingPair], verdicts: list[tuple[bool, float]], overlap_threshold: float) -> dict:
    supported = np.array([p.supported for p in pairs])
    predicted = np.array([v[0] for v in verdicts])
    scores = np.array([v[1] for v in verdicts])
    overlap = np.array([token_overlap(p.claim, list(p.passages)) for p in pairs])
    report = _metrics(supported, predicted, scores)
    report["baseline"] = _metrics(supported, overlap >= overlap_threshold, overlap) | {
        "name": "token_overlap",
        "threshold": overlap_threshold,
    }
    return report


def evaluate_grounding(checker: GroundingChecker, path: Path) -> dict:
    pairs = read_grounding_file(path)
    if not pairs:
        raise ValueError(f"{path}: no labelled rows")
    checker.warm_up()
    verdicts, timings = [], []
    for pair in pairs:
        started = time.perf_counter()
        result = checker.run(pair.claim, list(pair.passages))
        timings.append((time.perf_counter() - started) * 1000)
        flagged = result.rejected or any(not s.supported for s in result.sentences)
        score = min((s.score for s in result.sentences), default=0.0)
        verdicts.append((not flagged, score))
    threshold = checker.manifest.metrics.get("overlap_threshold", DEFAULT_OVERLAP_THRESHOLD)
    report = _report(pairs, verdicts, threshold)
    report["threshold"] = checker.threshold
    report["latency_ms_p50"] = float(np.percentile(timings, 50))
    heldout = [i for i, p in enumerate(pairs) if p.source == "begin_heldout"]
    if heldout and len(heldout) < len(pairs):
        report["heldout_half"] = _report(
            [pairs[i] for i in heldout], [verdicts[i] for i in heldout], threshold
        )
    return report
