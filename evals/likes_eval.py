"""`twoline eval likes`: how well the likes model spots answers a client will dislike, and what the
likes gate costs in automation.

On the held-out split of the demo data (never used to train the intent classifier, its
thresholds or the likes model):
- ROC-AUC on held-out pairs (weak labels: the right intent's answer vs a wrong one);
- a replay through the policy's answer path: each held-out message is classified; a confident
  prediction of an intent with a scripted answer renders that answer (what a client would get);
  the likes gate then scores it. For a range of `dislike_threshold` values: automation (share of
  messages answered), its cost (answers the gate turned into hand-offs), the wrong answers
  (predicted intent ≠ true intent) still sent, and those the gate stopped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from first_line.domain import Domain
from first_line.intent_model import IntentModel
from first_line.likes_data import bootstrap_pairs
from first_line.responses import ClientProfile, render_response
from first_line.training_data import Splits
from first_line.training_pipeline import load_splits
from router.assistant import load_thresholds
from router.client_signals import load_likes_model
from router.settings import Settings

GATE_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def evaluate_likes(settings: Settings, domain: Domain, out: Path, splits: Splits | None = None) -> dict:
    splits = splits or load_splits(settings.data_dir, settings.domain_dir)
    intent_model = IntentModel(settings.intents_dir, threads=2, cache_size=100_000)
    intent_model.warm_up()
    likes = load_likes_model(settings.likes_dir, intent_model)
    pairs = bootstrap_pairs(splits.test, domain, seed=14)
    pair_scores = likes.probabilities(
        [p.text for p in pairs], [p.context for p in pairs], [p.answer for p in pairs]
    )
    report: dict = {
        "roc_auc_held_out_pairs": round(float(roc_auc_score([p.disliked for p in pairs], pair_scores)), 4),
        "held_out_pairs": len(pairs),
    }
    report |= _replay(splits, domain, intent_model, likes)
    out.mkdir(parents=True, exist_ok=True)
    (out / "likes_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def _replay(splits: Splits, domain: Domain, intent_model: IntentModel, likes) -> dict:
    thresholds = load_thresholds(intent_model, domain)
    messages = splits.test
    probabilities = intent_model.probabilities([e.text for e in messages])
    answered: list[tuple[str, bool]] = []  # (rendered answer, is it the right intent's)
    texts: list[str] = []
    for example, row in zip(messages, probabilities, strict=True):
        best = int(row.argmax())
        intent = intent_model.intents[best]
        if row[best] < thresholds.for_intent(intent) or not domain.intents[intent].needs_response:
            continue
        rendered = render_response(domain, intent, ClientProfile(language="en"), {}, example.text)
        answered.append((rendered.text, intent == example.intent))
        texts.append(example.text)
    p_dislike = likes.probabilities(texts, [[] for _ in texts], [a for a, _ in answered])
    right = np.array([ok for _, ok in answered], dtype=bool)
    total = len(messages)
    rows = []
    for threshold in GATE_THRESHOLDS:
        gated = p_dislike > threshold
        rows.append(
            {
                "threshold": threshold,
                "automation": round(float((~gated).sum()) / total, 4),
                "automation_cost": round(float(gated.sum()) / total, 4),
                "right_answers_lost": int((gated & right).sum()),
                "wrong_answers": int((~gated & ~right).sum()),
                "wrong_stopped": int((gated & ~right).sum()),
                "precision_of_sent": round(float((~gated & right).sum()) / max(int((~gated).sum()), 1), 4),
            }
        )
    return {
        "messages": total,
        "answered_without_gate": len(answered),
        "automation_without_gate": round(len(answered) / total, 4),
        "wrong_without_gate": int((~right).sum()),
        "precision_without_gate": round(float(right.mean()) if len(right) else 0.0, 4),
        "configured_threshold": domain.settings.policy.dislike_threshold,
        "replay": rows,
    }
