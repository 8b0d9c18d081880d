"""`twoline eval intents --language ru`: the Russian intent model on Russian messages it never saw.

Default data: `evals/data/russian_intents_test.csv` (363 messages, every demo intent; written by a writer
who saw no repository file and neither of the training writers' sets; rows whose text also appears in
the training or dev messages were removed). Reported, one message at a time on one thread with no
embedding cache, as the service reads a Russian message:
- accuracy, macro-F1;
- automation and precision at the model's threshold (the domain's target precision on the Russian dev
  messages), and with the clarifying question (pool of the most probable intents, as the policy asks it),
  counting a clarification as resolved when its buttons hold the true intent (`pools_recovery`);
- latency p50 / p95 per message;
- `read_as_translit`: the share of rows the service reads as Russian typed in Latin letters (their
  Cyrillic reading is what the model reads, as in the service; `evals/data/translit_intents_test.csv`);
- `baseline`: the English intent model on the same rows at its own thresholds, which is how Russian
  messages were read before this model: its accuracy, how many it answered and how many of those right.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from first_line.domain import Domain
from first_line.intent_model import IntentModel, IntentPrediction
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.russian_intent_model import RussianIntentModel
from first_line.training_data import Example, read_labelled_csv
from first_line.translit_reader import TranslitReader
from router.assistant import load_thresholds
from router.policy import clarifying_intents, pool_of_intents
from router.settings import Settings

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "russian_intents_test.csv"
TRANSLIT_DATA = DEFAULT_DATA.with_name("translit_intents_test.csv")


def evaluate_russian_intents(settings: Settings, domain: Domain, data: Path | None = None) -> dict:
    rows = read_labelled_csv(data or DEFAULT_DATA)
    model = RussianIntentModel(settings.russian_intents_dir, MultilingualEncoder(threads=1, cache_size=0))
    model.warm_up()
    reader = TranslitReader(settings.russian_intents_dir)
    reader.warm_up()
    known = [e for e in rows if e.intent in set(model.intents)]
    predictions, latencies, translit = [], [], 0
    for example in known:
        started = time.perf_counter()
        reading = reader.reading(example.text)  # Russian typed in Latin letters: read in Cyrillic
        predictions.append(model.predict(reading or example.text))
        latencies.append((time.perf_counter() - started) * 1000)
        translit += reading is not None
    truth = [e.intent for e in known]
    thresholds = model.thresholds(domain.settings.policy.target_precision, domain.threshold_overrides)
    threshold = thresholds.global_threshold
    limits = [thresholds.for_intent(p.top) for p in predictions]  # as the service reads them
    report = {
        "rows": len(known),
        "rows_unknown_label": len(rows) - len(known),
        "read_as_translit": translit / len(known) if known else 0.0,
        "accuracy": _accuracy(predictions, truth),
        "macro_f1": float(f1_score(truth, [p.top for p in predictions], average="macro")),
        "threshold": threshold,
        **_answered(predictions, truth, limits),
        **_with_clarifications(predictions, truth, limits, domain),
        "latency_ms_p50": float(np.percentile(latencies, 50)),
        "latency_ms_p95": float(np.percentile(latencies, 95)),
        "baseline": _english_model(settings, domain, known),
    }
    return report


def _accuracy(predictions: list[IntentPrediction], truth: list[str]) -> float:
    return float(np.mean([p.top == t for p, t in zip(predictions, truth, strict=True)]))


def _answered(predictions: list[IntentPrediction], truth: list[str], thresholds: list[float]) -> dict:
    """Share answered (confidence ≥ threshold) and the share of those answered right."""
    answered = [p.confidence >= t for p, t in zip(predictions, thresholds, strict=True)]
    right = [p.top == t for p, t in zip(predictions, truth, strict=True)]
    n_answered = sum(answered)
    correct = sum(a and r for a, r in zip(answered, right, strict=True))
    return {
        "automation": n_answered / len(predictions) if predictions else 0.0,
        "precision": correct / n_answered if n_answered else 1.0,
        "answered_wrong_rate": (n_answered - correct) / len(predictions) if predictions else 0.0,
    }


def _with_clarifications(
    predictions: list[IntentPrediction], truth: list[str], limits: list[float], domain: Domain
) -> dict:
    """The policy's rule 6 for a Russian message (the pool holding the most probability); resolved when a
    button is the true intent."""
    answered = right = asked = recovered = 0
    for prediction, true_intent, limit in zip(predictions, truth, limits, strict=True):
        if prediction.confidence >= limit:
            answered += 1
            right += prediction.top == true_intent
            continue
        buttons = clarifying_intents(prediction, domain, pool_of_intents(prediction, domain))
        if buttons:
            asked += 1
            recovered += true_intent in buttons
    resolved = answered + recovered
    return {
        "clarifications": asked,
        "pools_recovery": recovered / asked if asked else 0.0,
        "automation_with_pools": resolved / len(predictions) if predictions else 0.0,
        "precision_with_pools": (right + recovered) / resolved if resolved else 1.0,
    }


def _english_model(settings: Settings, domain: Domain, rows: list[Example]) -> dict:
    """How the English intent model (MiniLM) reads the same Russian messages, at its own thresholds."""
    model = IntentModel(settings.intents_dir, threads=1, cache_size=0)
    thresholds = load_thresholds(model, domain)
    predictions = [model.predict(e.text) for e in rows]
    truth = [e.intent for e in rows]
    limits = [thresholds.for_intent(p.top) for p in predictions]
    return {"accuracy": _accuracy(predictions, truth), **_answered(predictions, truth, limits)}
