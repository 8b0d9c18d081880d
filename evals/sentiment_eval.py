"""`twoline eval sentiment --data PATH.csv`: the client-sentiment model against messages labelled by mood.

The policy reads the sentiment score twice: at `policy.negative_sentiment_threshold` a scripted answer
switches to its empathetic variant, and a client who reads upset is handed to a person at once instead of
being asked to say more. A calm client read as upset therefore loses the bot's help. Reported, for all rows,
per language and per `kind` (when that column exists): ROC-AUC of the score, the share of upset rows (label 1)
at or above the threshold (`upset_recall`) and the share of calm rows (label 0) there (`false_upset_rate`),
side by side with VADER for English (compound ≤ -0.05, its authors' cut-off), and the worst mistakes.

Columns: `text`, `label` (1/0 or true/false; 1 = the client is upset), optional `kind` and `language` (else
read from the text).
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from evals.tone_eval import FALSE_LABELS, TRUE_LABELS
from first_line.domain import load_domain
from first_line.intent_model import IntentModel
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.sentiment_model import SentimentModel, text_language
from first_line.table_files import open_table
from router.settings import Settings

VADER_NEGATIVE_AT = -0.05
WORST_EXAMPLES = 10
BLIND_SET = Path(__file__).resolve().parent / "data" / "client_mood_test.csv"


def sentiment_report(settings: Settings, path: Path) -> dict:
    """The service's sentiment model (English read through the intent model's encoder, as in service) at the
    domain's `negative_sentiment_threshold`."""
    intents = IntentModel(settings.intents_dir, threads=1)
    e5 = MultilingualEncoder(threads=1)
    model = SentimentModel(settings.sentiment_dir, e5, intents.encoder, intents.manifest)
    threshold = load_domain(settings.domain_dir).settings.policy.negative_sentiment_threshold
    return evaluate_sentiment(model, path, threshold)


def read_mood_rows(path: Path) -> list[dict]:
    """(text, label, kind, language) rows; a clear error for a missing column or a label not 1/0."""
    with open_table(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        rows = []
        for number, row in enumerate(reader, start=2):
            raw = (row["label"] or "").strip().lower()
            if raw not in TRUE_LABELS | FALSE_LABELS:
                raise ValueError(f"{path}, line {number}: label {row['label']!r} is not 1/0 or true/false")
            text = (row["text"] or "").strip()
            if text:
                language = (row.get("language") or "").strip() or text_language(text)
                kind = (row.get("kind") or "").strip()
                rows.append(
                    {"text": text, "label": int(raw in TRUE_LABELS), "kind": kind, "language": language}
                )
    if not rows:
        raise ValueError(f"{path}: no rows with text")
    return rows


def mood_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    upset, calm = labels == 1, labels == 0
    flagged = scores >= threshold
    return {
        "rows": len(labels),
        "roc_auc": round(float(roc_auc_score(labels, scores)), 4) if upset.any() and calm.any() else None,
        "upset_recall": round(float(flagged[upset].mean()), 4) if upset.any() else None,
        "false_upset_rate": round(float(flagged[calm].mean()), 4) if calm.any() else None,
    }


def vader_scores(texts: list[str]) -> np.ndarray:
    """VADER's negativity on the same scale as ours: -compound, so higher is more negative."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([-analyzer.polarity_scores(text)["compound"] for text in texts])


def evaluate_sentiment(model: SentimentModel, path: Path, threshold: float) -> dict:
    rows = read_mood_rows(path)
    labels = np.array([row["label"] for row in rows])
    model.warm_up()
    scores, timings = [], []
    for row in rows:
        started = time.perf_counter()
        scores.append(model.score(row["text"]))
        timings.append((time.perf_counter() - started) * 1000)
    scores_array = np.array(scores)
    report = mood_metrics(labels, scores_array, threshold) | {
        "threshold": threshold,
        "latency_ms_p50": round(float(np.percentile(timings, 50)), 2),
        "by_language": _grouped(rows, labels, scores_array, threshold, "language"),
        "by_kind": _grouped(rows, labels, scores_array, threshold, "kind"),
        "worst_examples": _worst(rows, labels, scores_array, threshold),
    }
    english = np.array([row["language"] == "en" for row in rows])
    if english.any():
        vader = vader_scores([row["text"] for row in rows if row["language"] == "en"])
        report["baseline_english"] = mood_metrics(labels[english], vader, -VADER_NEGATIVE_AT) | {
            "name": "VADER"
        }
    return report


def _grouped(rows: list[dict], labels: np.ndarray, scores: np.ndarray, threshold: float, key: str) -> dict:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row[key]:
            groups[row[key]].append(index)
    return {name: mood_metrics(labels[idx], scores[idx], threshold) for name, idx in sorted(groups.items())}


def _worst(rows: list[dict], labels: np.ndarray, scores: np.ndarray, threshold: float) -> list[dict]:
    """Calm messages read as most upset, then upset messages read as calmest."""
    calm_flagged = [i for i in np.argsort(-scores) if labels[i] == 0 and scores[i] >= threshold]
    upset_missed = [i for i in np.argsort(scores) if labels[i] == 1 and scores[i] < threshold]
    picked = [(i, "calm read as upset") for i in calm_flagged[: WORST_EXAMPLES // 2]]
    picked += [(i, "upset read as calm") for i in upset_missed[: WORST_EXAMPLES - len(picked)]]
    return [
        {
            "mistake": mistake,
            "text": rows[i]["text"][:200],
            "kind": rows[i]["kind"],
            "score": round(float(scores[i]), 4),
        }
        for i, mistake in picked
    ]
