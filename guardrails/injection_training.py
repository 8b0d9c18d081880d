"""`twoline train injection`: the classifier the prompt-injection screen runs next to its rules.

Two logistic regressions on the training split (75% of the written attack groups and of the benign
rows, `guardrails/injection_data.py`): one on the int8 MiniLM sentence embedding (meaning: "tell me
what you were told"), one on character 2-5 grams (spelling: Russian, leetspeak, fake `### system:`
turns). The model's score is the mean of their probabilities, maximised over the message's readings
(`injection_text.readings`: the disguises undone). The threshold is the lowest one that flags at most
`TARGET_FALSE_POSITIVE` of the benign dev rows; the written hard negatives ("ignore my previous
message") weigh `HARD_NEGATIVE_WEIGHT` times a public row.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import FeatureUnion, Pipeline

from first_line.artifacts import Manifest, new_version, write_manifest
from guardrails.encoder import load_encoder, provide_encoder
from guardrails.injection_data import InjectionExample
from guardrails.injection_text import readings

log = logging.getLogger("twoline.train")

KIND = "injection"
EMBEDDING_HEAD = "embedding_head.joblib"
CHAR_HEAD = "char_head.joblib"
DEV_SHARE = 0.25
TARGET_FALSE_POSITIVE = 0.005
"""At most this share of the benign dev rows is flagged by the model (before the rules)."""
MIN_THRESHOLD = 0.5
HARD_NEGATIVE_WEIGHT = 5.0
ENCODE_BATCH = 1
"""One text per encoder call, in training as in service: the int8 encoder quantizes activations per batch,
so a text's embedding would depend on its batch-mates (and training on the hash order of a set)."""


def char_pipeline() -> Pipeline:
    features = FeatureUnion(
        [("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                   max_features=100_000))]
    )  # fmt: skip
    classifier = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
    return Pipeline([("features", features), ("classifier", classifier)])


def model_text(text: str) -> str:
    return " ".join(text.lower().split())


def split_by_group(examples: list[InjectionExample], seed: int) -> tuple[list, list]:
    """(train, dev): whole groups (an attack and its disguises) on one side."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    dev_groups = set(groups[: int(len(groups) * DEV_SHARE)])
    return [e for e in examples if e.group not in dev_groups], [e for e in examples if e.group in dev_groups]


def _weights(examples: list[InjectionExample]) -> np.ndarray:
    return np.array(
        [HARD_NEGATIVE_WEIGHT if e.source == "written" and not e.label else 1.0 for e in examples]
    )


def fit_heads(encoder, examples: list[InjectionExample]) -> tuple[LogisticRegression, Pipeline]:
    texts = [model_text(e.text) for e in examples]
    labels = np.array([e.label for e in examples])
    weights = _weights(examples)
    embedding_head = LogisticRegression(C=2.0, max_iter=3000, class_weight="balanced")
    embedding_head.fit(encoder.encode(texts, batch_size=ENCODE_BATCH), labels, sample_weight=weights)
    chars = char_pipeline()
    chars.fit(texts, labels, classifier__sample_weight=weights)
    return embedding_head, chars


def message_scores(encoder, embedding_head, char_probabilities, texts: list[str]) -> np.ndarray:
    """P(injection) of each message: the heads' mean, the highest over its readings."""
    spans, flat = [], []
    for text in texts:
        variants = [model_text(r) for r in readings(text)]
        spans.append((len(flat), len(flat) + len(variants)))
        flat += variants
    if not flat:  # only empty messages: nothing to read, nothing injected
        return np.zeros(len(texts))
    embeddings = encoder.encode(flat, batch_size=ENCODE_BATCH)
    mixed = (embedding_head.predict_proba(embeddings)[:, 1] + char_probabilities(flat)) / 2
    return np.array([mixed[start:end].max() for start, end in spans])


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    benign = np.sort(scores[labels == 0])
    allowed = int(len(benign) * TARGET_FALSE_POSITIVE)
    above = benign[len(benign) - allowed - 1] if allowed < len(benign) else 0.0
    return float(max(MIN_THRESHOLD, np.nextafter(above, 1.0)))


def train_injection(
    examples: list[InjectionExample],
    out_dir: Path,
    seed: int = 13,
    data_hash: str = "",
    encoder_from: Path | None = None,
) -> Manifest:
    started = time.perf_counter()
    train, dev = split_by_group(examples, seed)
    with new_version(out_dir) as work:
        provide_encoder(work, encoder_from)
        encoder = load_encoder(work, threads=2, cache_size=len(examples) * 2)
        log.info("training injection classifier", extra={"count": len(train)})
        embedding_head, chars = fit_heads(encoder, train)
        labels = np.array([e.label for e in dev])
        scores = message_scores(
            encoder, embedding_head, lambda t: chars.predict_proba(t)[:, 1], [e.text for e in dev]
        )
        threshold = choose_threshold(scores, labels)
        flagged = scores >= threshold
        metrics = {
            "dev_roc_auc": float(roc_auc_score(labels, scores)),
            "dev_recall": float(flagged[labels == 1].mean()),
            "dev_false_positive_rate": float(flagged[labels == 0].mean()),
        }
        written_benign = np.array([e.source == "written" and not e.label for e in dev])
        if written_benign.any():
            metrics["dev_hard_negative_false_positive_rate"] = float(flagged[written_benign].mean())
        joblib.dump(embedding_head, work / EMBEDDING_HEAD)
        joblib.dump(chars, work / CHAR_HEAD)
        manifest = Manifest(
            kind=KIND,
            seed=seed,
            data_hash=data_hash,
            data_sizes={
                "train": len(train),
                "dev": len(dev),
                "train_attacks": sum(e.label for e in train),
                "dev_attacks": int(labels.sum()),
            },
            labels=["benign", "injection"],
            params={"threshold": threshold, "train_seconds": round(time.perf_counter() - started, 1)},
            metrics=metrics,
        )
        manifest = write_manifest(work, manifest)
    return manifest
