"""`twoline eval intents`: how well the first line answers, and at what automation.

On any `text,category` CSV (default: the held-out split of the demo data, never used for
training, calibration or thresholds):
- accuracy and macro-F1 of the top intent;
- automation (share of messages answered) and precision of the answered ones, at the
  per-intent thresholds (tuned on the artifact's dev split for the domain's target precision)
  and at one global threshold tuned the same way (Rasa's FallbackClassifier, Dialogflow);
- pools recovery: the share of unsure messages whose true intent is among the buttons of the
  clarifying question, and automation when a client clicks the right one;
- latency of one intent prediction on one thread (no embedding cache);
- the same trade-off over a range of target precisions, plotted (PNG), with the operating
  point marked; and the frozen-encoder + logistic regression baseline on the same rows.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from first_line.domain import Domain
from first_line.intent_model import IntentModel, IntentPrediction
from first_line.intent_training import DEV_PROBABILITIES
from first_line.pools_model import PoolPrediction, PoolsModel
from first_line.thresholds import Thresholds, tune_thresholds
from first_line.training_data import Example, read_labelled_csv
from first_line.training_pipeline import load_splits
from first_line.translit_reader import TranslitReader
from router.policy import clarifying_intents
from router.settings import Settings

TARGETS = (0.90, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995)


def evaluate_intents(
    settings: Settings,
    domain: Domain,
    data: Path | None,
    out_dir: Path,
    with_baseline: bool = True,
    quantized: bool = True,
) -> dict:
    model = IntentModel(settings.intents_dir, quantized=quantized, threads=1, cache_size=0)
    model.warm_up()
    pools = PoolsModel(settings.pools_dir, model.encoder, domain.pool_by_intent)
    seed = model.manifest.seed
    splits = None
    if data is None or with_baseline:
        splits = load_splits(settings.data_dir, settings.domain_dir, seed=seed)
    rows = read_labelled_csv(data) if data else splits.test
    known = [e for e in rows if e.intent in set(model.intents)]
    unknown = sorted({e.intent for e in rows} - set(model.intents))

    probabilities, latencies = _predict_one_by_one(model, known)
    labels = np.array([model.intents.index(e.intent) for e in known])
    pool_probabilities = pools.probabilities([e.text for e in known], [[] for _ in known])
    dev = np.load(settings.intents_dir / DEV_PROBABILITIES)
    policy = domain.settings.policy
    overrides = domain.threshold_overrides

    def schemes_at(target: float) -> dict:
        thresholds = tune_thresholds(
            dev["probabilities"],
            dev["labels"],
            model.intents,
            target,
            policy.threshold_prior_strength,
            overrides,
        )
        return _score_schemes(probabilities, labels, pool_probabilities, thresholds, model, pools, domain)

    operating = schemes_at(policy.target_precision)
    operating_thresholds = tune_thresholds(
        dev["probabilities"],
        dev["labels"],
        model.intents,
        policy.target_precision,
        policy.threshold_prior_strength,
        overrides,
    )
    predicted = probabilities.argmax(1)
    report = {
        "rows": len(rows),
        "rows_unknown_label": len(rows) - len(known),
        "unknown_labels": unknown,
        "accuracy": float((predicted == labels).mean()),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
        "target_precision": policy.target_precision,
        "automation": operating["per_intent"]["automation"],
        "precision": operating["per_intent"]["precision"],
        "pools_recovery": operating["pools_recovery"],
        "automation_with_pools": operating["per_intent_pools"]["automation"],
        "precision_with_pools": operating["per_intent_pools"]["precision"],
        "global_threshold": operating["global"],
        "latency_ms_p50": float(np.percentile(latencies, 50)),
        "latency_ms_p95": float(np.percentile(latencies, 95)),
        "model": {
            "variant": model.manifest.variant,
            "encoder": "int8" if quantized else "fp32",
            "created_at": model.manifest.created_at,
            "calibration_rows": model.manifest.metrics.get("calibration_rows"),
        },
        "curve": {str(t): schemes_at(t) for t in TARGETS},
        "costliest_intents": costliest_intents(probabilities, labels, operating_thresholds, model.intents),
    }
    if with_baseline and splits is not None:
        report["baseline"] = frozen_encoder_baseline(splits, known, policy.target_precision)
    if "ru" in domain.settings.languages:
        report["read_as_translit"] = read_as_translit(settings, [e.text for e in known])
    out_dir.mkdir(parents=True, exist_ok=True)
    report["plot"] = str(plot_tradeoff(report, out_dir / "automation_vs_precision.png"))
    (out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def read_as_translit(settings: Settings, texts: list[str]) -> dict:
    """How many of these (English) messages the service would read as Russian typed in Latin letters,
    and so send to the Russian intent model and answer in Russian: the translit reader's false reads."""
    reader = TranslitReader(settings.russian_intents_dir)
    read = [text for text in texts if reader.reading(text) is not None]
    return {"rate": len(read) / len(texts) if texts else 0.0, "count": len(read), "examples": read[:10]}


def costliest_intents(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: Thresholds, intents: list[str], top: int = 10
) -> list[dict]:
    """The intents whose messages the bot most often does not answer at the operating point: where a
    threshold override, more training examples or a pool would buy the most automation."""
    predicted = probabilities.argmax(1)
    answered = probabilities.max(1) >= np.array([thresholds.for_intent(intents[i]) for i in predicted])
    rows = []
    for index, intent in enumerate(intents):
        mine = labels == index
        if mine.any():
            missed = int((mine & ~answered).sum())
            rows.append(
                {
                    "intent": intent,
                    "messages": int(mine.sum()),
                    "unanswered": missed,
                    "automation_lost": missed / len(labels),
                    "threshold": round(thresholds.for_intent(intent), 4),
                    "accuracy": float((predicted[mine] == index).mean()),
                }
            )
    return sorted(rows, key=lambda r: -r["unanswered"])[:top]


def _predict_one_by_one(model: IntentModel, examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    rows, latencies = [], []
    for example in examples:
        started = time.perf_counter()
        rows.append(model.probabilities([example.text])[0])
        latencies.append((time.perf_counter() - started) * 1000)
    return np.array(rows), np.array(latencies)


def _score_schemes(
    probabilities: np.ndarray,
    labels: np.ndarray,
    pool_probabilities: np.ndarray,
    thresholds: Thresholds,
    model: IntentModel,
    pools: PoolsModel,
    domain: Domain,
) -> dict:
    predicted = probabilities.argmax(1)
    confidence = probabilities.max(1)
    correct = predicted == labels
    per_intent = np.array([thresholds.for_intent(model.intents[i]) for i in predicted])
    answered = confidence >= per_intent
    answered_global = confidence >= thresholds.global_threshold
    recovered = _recovered_by_buttons(
        probabilities, labels, pool_probabilities, ~answered, model, pools, domain
    )
    unsure = int((~answered).sum())
    return {
        "per_intent": _automation(answered, correct),
        "global": _automation(answered_global, correct) | {"threshold": thresholds.global_threshold},
        "per_intent_pools": {
            "automation": float((answered | recovered).mean()),
            "precision": float(
                ((answered & correct) | recovered).sum() / max(1, (answered | recovered).sum())
            ),
        },
        "pools_recovery": float(recovered.sum() / unsure) if unsure else 0.0,
    }


def _automation(answered: np.ndarray, correct: np.ndarray) -> dict:
    return {
        "automation": float(answered.mean()),
        "precision": float(correct[answered].mean()) if answered.any() else 1.0,
    }


def _recovered_by_buttons(
    probabilities: np.ndarray,
    labels: np.ndarray,
    pool_probabilities: np.ndarray,
    unsure: np.ndarray,
    model: IntentModel,
    pools: PoolsModel,
    domain: Domain,
) -> np.ndarray:
    """Unsure messages whose clarifying question (the policy's rule 6) shows the true intent as a button."""
    recovered = np.zeros(len(labels), dtype=bool)
    for row in np.nonzero(unsure)[0]:
        order = np.argsort(-probabilities[row], kind="stable")
        prediction = IntentPrediction([model.intents[i] for i in order], probabilities[row, order])
        best_pool = int(pool_probabilities[row].argmax())
        pool = PoolPrediction(
            pool=pools.pools[best_pool], confidence=float(pool_probabilities[row, best_pool])
        )
        recovered[row] = model.intents[labels[row]] in clarifying_intents(prediction, domain, pool)
    return recovered


def frozen_encoder_baseline(splits, rows: list[Example], target_precision: float) -> dict:
    """The plain baseline of DESIGN.md: frozen all-MiniLM (fp32) embeddings + logistic regression,
    one global threshold tuned on the same dev split for the same target precision."""
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    from first_line.encoder_training import base_encoder_path
    from first_line.thresholds import lowest_threshold_at_precision

    encoder = SentenceTransformer(base_encoder_path(), device="cpu")

    def embed(examples: list[Example]) -> np.ndarray:
        return encoder.encode([e.text for e in examples], batch_size=64, normalize_embeddings=True)

    classifier = LogisticRegression(C=20.0, max_iter=2000).fit(
        embed(splits.train), [e.intent for e in splits.train]
    )
    classes = list(classifier.classes_)
    dev = [e for e in splits.dev if e.intent in classes]
    dev_p = classifier.predict_proba(embed(dev))
    dev_correct = np.array([classes[i] == e.intent for i, e in zip(dev_p.argmax(1), dev, strict=True)])
    threshold = lowest_threshold_at_precision(dev_p.max(1), dev_correct.astype(float), target_precision)
    known = [e for e in rows if e.intent in classes]
    p = classifier.predict_proba(embed(known))
    correct = np.array([classes[i] == e.intent for i, e in zip(p.argmax(1), known, strict=True)])
    answered = p.max(1) >= threshold
    return {"accuracy": float(correct.mean()), "threshold": threshold} | _automation(answered, correct)


def plot_tradeoff(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = report["curve"]
    targets = sorted(curve, key=float)
    figure, axis = plt.subplots(figsize=(7, 5))
    for key, label, style in (
        ("per_intent", "per-intent thresholds", "o-"),
        ("per_intent_pools", "per-intent + pools clarification", "s-"),
        ("global", "one global threshold", "^--"),
    ):
        axis.plot(
            [curve[t][key]["precision"] for t in targets],
            [curve[t][key]["automation"] for t in targets],
            style,
            label=label,
        )
    axis.scatter(
        [report["precision"]],
        [report["automation"]],
        s=160,
        facecolors="none",
        edgecolors="red",
        zorder=5,
        label=f"operating point (target {report['target_precision']})",
    )
    axis.set_xlabel("precision of answered messages")
    axis.set_ylabel("automation (share of messages answered)")
    axis.set_title(f"Automation vs precision ({report['rows'] - report['rows_unknown_label']} messages)")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
