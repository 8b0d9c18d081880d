"""`twoline eval tone`: the censor against labelled texts, side by side with alt-profanity-check.

Labels may be 1/0 or true/false (1 = the text must be blocked). Reported for the censor and for the
baseline on the same rows: ROC-AUC of the score, the share of label-1 rows blocked (`block_rate`) and of
label-0 rows blocked (`false_block_rate`), precision and recall at the operating point, and the same per
`category` when that column exists. The censor "blocks" a text when its verdict is not `allow` (a
rewrite also stops the offending sentence); the baseline blocks at probability 0.5. The censor's score
(`roc_auc`) is its verdict's, the one it decides with: the worst of its sentence scores and its
whole-text score. `whole_text_roc_auc` is a side figure: the whole-text score alone (the model on the
pooled sentence embeddings and, for English, the profanity lexicon; no sentence, no rule), which is what
a label given to a whole comment (Wikipedia's toxicity) judges. A bank answer with one rude sentence among
polite ones must be blocked; a talk-page comment like it is often labelled non-toxic. So `by_length` reports
the same figures, censor and baseline, for texts of an answer's length (`ANSWER_SENTENCES` or fewer, as
2,097 of the 2,100 rows of the bank-style held-out sets 14-19 are) and for longer ones.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import roc_auc_score

from first_line.language import looks_russian
from first_line.table_files import open_table
from guardrails.censor import Censor
from guardrails.text import split_sentences

if TYPE_CHECKING:
    from router.settings import Settings

TRUE_LABELS = {"1", "true", "yes", "toxic", "block"}
FALSE_LABELS = {"0", "false", "no", "ok", "allow", ""}
BASELINE_THRESHOLD = 0.5
ANSWER_SENTENCES = 3


def served_censor(settings: Settings) -> Censor:
    """The censor as the service runs it: the trained artifact at the served threshold
    (TWOLINE_SECOND_LINE_CENSOR_THRESHOLD when set, else the trained one)."""
    return Censor(settings.artifacts_dir / "censor", threshold=settings.second_line.censor_threshold)


def read_rows(path: Path, text_col: str, label_col: str) -> list[dict]:
    with open_table(path) as handle:
        reader = csv.DictReader(handle)
        missing = {text_col, label_col} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        rows = []
        for row in reader:
            raw = (row[label_col] or "").strip().lower()
            if raw not in TRUE_LABELS | FALSE_LABELS:
                raise ValueError(f"{path}: label {row[label_col]!r} is not 1/0 or true/false")
            text = (row[text_col] or "").strip()
            if text:
                rows.append(
                    {"text": text, "label": int(raw in TRUE_LABELS), "category": row.get("category") or ""}
                )
        return rows


def _metrics(labels: np.ndarray, scores: np.ndarray, blocked: np.ndarray) -> dict:
    positives, negatives = labels == 1, labels == 0
    report = {
        "rows": len(labels),
        "roc_auc": float(roc_auc_score(labels, scores)) if positives.any() and negatives.any() else None,
        "block_rate": float(blocked[positives].mean()) if positives.any() else None,
        "false_block_rate": float(blocked[negatives].mean()) if negatives.any() else None,
    }
    report["recall"] = report["block_rate"]
    report["precision"] = float(labels[blocked].mean()) if blocked.any() else None
    return report


def _per_category(rows: list[dict], labels: np.ndarray, blocked: np.ndarray) -> dict[str, dict]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row["category"] and labels[index] == 1:
            groups[row["category"]].append(index)
    return {
        category: {"rows": len(indices), "block_rate": float(blocked[indices].mean())}
        for category, indices in sorted(groups.items())
    }


def _by_length(rows: list[dict], labels: np.ndarray, ours: tuple, base: tuple) -> dict[str, dict]:
    """The censor's and the baseline's figures on texts of an answer's length and on longer ones."""
    long = np.array([len(split_sentences(row["text"])) > ANSWER_SENTENCES for row in rows])
    groups = {f"1-{ANSWER_SENTENCES} sentences": ~long, f"{ANSWER_SENTENCES + 1}+ sentences": long}
    return {
        name: _metrics(labels[rows_in], *(a[rows_in] for a in ours))
        | {"baseline": _metrics(labels[rows_in], *(b[rows_in] for b in base))}
        for name, rows_in in groups.items()
        if rows_in.any()
    }


def baseline_scores(texts: list[str]) -> np.ndarray:
    from profanity_check import predict_prob

    return np.asarray(predict_prob(texts), dtype=float)


def worst_examples(
    rows: list[dict], labels: np.ndarray, scores: np.ndarray, blocked: np.ndarray, limit: int = 10
) -> list[dict]:
    """The censor's worst mistakes: polite texts it blocked (highest score first), then bad texts it
    let through (lowest score first)."""
    false_blocks = [i for i in np.argsort(-scores) if blocked[i] and labels[i] == 0]
    misses = [i for i in np.argsort(scores) if not blocked[i] and labels[i] == 1]
    picked = [(i, "blocked a polite text") for i in false_blocks[: limit // 2]]
    picked += [(i, "let a bad text through") for i in misses[: limit - len(picked)]]
    return [
        {
            "mistake": mistake,
            "text": rows[i]["text"][:300],
            "category": rows[i].get("category") or "",
            "score": round(float(scores[i]), 4),
        }
        for i, mistake in picked
    ]


def evaluate_tone(censor: Censor, path: Path, text_col: str = "text", label_col: str = "label") -> dict:
    rows = read_rows(path, text_col, label_col)
    if not rows:
        raise ValueError(f"{path}: no rows with text")
    labels = np.array([r["label"] for r in rows])
    censor.warm_up()
    scores, blocked, timings, whole = [], [], [], []
    for row in rows:
        language = "ru" if looks_russian(row["text"]) else "en"
        started = time.perf_counter()
        verdict = censor.run(row["text"], language)
        timings.append((time.perf_counter() - started) * 1000)
        scores.append(verdict.score)
        blocked.append(verdict.action != "allow")
        whole.append(verdict.whole_text_score)
    ours = np.array(scores), np.array(blocked)
    base = baseline_scores([r["text"] for r in rows])
    base_blocked = base >= BASELINE_THRESHOLD
    report = _metrics(labels, *ours) | {
        "threshold": censor.threshold,
        "whole_text_roc_auc": _metrics(labels, np.array(whole), np.array(blocked))["roc_auc"],
        "latency_ms_p50": float(np.percentile(timings, 50)),
        "latency_ms_p95": float(np.percentile(timings, 95)),
        "per_category": _per_category(rows, labels, ours[1]),
        "by_length": _by_length(rows, labels, ours, (base, base_blocked)),
        "worst_examples": worst_examples(rows, labels, *ours),
    }
    report["baseline"] = _metrics(labels, base, base_blocked) | {
        "name": "alt-profanity-check",
        "threshold": BASELINE_THRESHOLD,
        "per_category": _per_category(rows, labels, base_blocked),
    }
    return report
