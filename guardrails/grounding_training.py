"""`twoline train grounding`: the verifier that says whether a sentence is supported by the passages.

A LightGBM classifier on `grounding_features.pair_features`, trained on the Ask CFPB synthetic pairs,
HaluEval and the training half of BEGIN dev, each source weighing the same in total; its threshold
maximises the mean over sources of the balanced accuracy on a 20% dev split of those (one threshold
that holds for knowledge-base answers and for chit-chat alike). The held-out half of BEGIN is scored
at the end (the figure in the manifest), next to the token-overlap baseline with its threshold tuned
on the same training data.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from pathlib import Path

import joblib
import numpy as np

from first_line.artifacts import Manifest, new_version, write_manifest
from guardrails.encoder import load_encoder, provide_encoder
from guardrails.grounding_data import GroundingPair
from guardrails.grounding_features import pair_features, token_overlap

log = logging.getLogger("twoline.train")

VERIFIER = "verifier.joblib"
DEV_SHARE = 0.2


def features_of(encoder, pairs: list[GroundingPair]) -> np.ndarray:
    return np.vstack([pair_features(encoder, [p.claim], list(p.passages)) for p in pairs])


def best_threshold(scores: np.ndarray, supported: np.ndarray) -> float:
    """The threshold on P(supported) with the best balanced accuracy."""
    candidates = np.unique(np.quantile(scores, np.linspace(0.02, 0.98, 97)))
    return float(max(candidates, key=lambda t: balanced_accuracy(supported, scores >= t)))


def source_weights(pairs: list[GroundingPair]) -> np.ndarray:
    """Each source (kb, halueval, begin_train) gets the same total weight."""
    counts = Counter(p.source for p in pairs)
    return np.array([len(pairs) / (len(counts) * counts[p.source]) for p in pairs])


def best_threshold_across_sources(scores: np.ndarray, pairs: list[GroundingPair]) -> float:
    supported = np.array([p.supported for p in pairs])
    sources = np.array([p.source for p in pairs])
    candidates = np.unique(np.quantile(scores, np.linspace(0.02, 0.98, 97)))

    def mean_balanced_accuracy(threshold: float) -> float:
        return float(
            np.mean(
                [
                    balanced_accuracy(supported[sources == s], scores[sources == s] >= threshold)
                    for s in np.unique(sources)
                ]
            )
        )

    return float(max(candidates, key=mean_balanced_accuracy))


def balanced_accuracy(supported: np.ndarray, predicted_supported: np.ndarray) -> float:
    positives, negatives = supported == 1, supported == 0
    recall_pos = predicted_supported[positives].mean() if positives.any() else 0.0
    recall_neg = (~predicted_supported[negatives]).mean() if negatives.any() else 0.0
    return float((recall_pos + recall_neg) / 2)


def f1_unsupported(supported: np.ndarray, predicted_supported: np.ndarray) -> float:
    truth, predicted = supported == 0, ~predicted_supported
    tp = float((truth & predicted).sum())
    return 2 * tp / (truth.sum() + predicted.sum()) if (truth.sum() + predicted.sum()) else 0.0


def _classifier(seed: int):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=300, learning_rate=0.05, num_leaves=15, min_child_samples=10, subsample=0.8,
        subsample_freq=1, colsample_bytree=0.3, random_state=seed, n_jobs=2, verbose=-1,
    )  # fmt: skip


def train_grounding(
    pairs: list[GroundingPair],
    out_dir: Path,
    seed: int = 13,
    data_hash: str = "",
    encoder_from: Path | None = None,
) -> Manifest:
    started = time.perf_counter()
    rng = random.Random(seed)
    trainable = [p for p in pairs if p.source != "begin_heldout"]
    heldout = [p for p in pairs if p.source == "begin_heldout"]
    rng.shuffle(trainable)
    cut = int(len(trainable) * DEV_SHARE)
    dev, train = trainable[:cut], trainable[cut:]
    with new_version(out_dir) as work:
        provide_encoder(work, encoder_from)
        encoder = load_encoder(work, threads=2, cache_size=200_000)
        log.info("training grounding verifier", extra={"count": len(train)})
        x_train, y_train = features_of(encoder, train), np.array([p.supported for p in train])
        model = _classifier(seed).fit(x_train, y_train, sample_weight=source_weights(train))
        dev_scores = model.predict_proba(features_of(encoder, dev))[:, 1]
        y_dev = np.array([p.supported for p in dev])
        threshold = best_threshold_across_sources(dev_scores, dev)
        joblib.dump(model, work / VERIFIER)
        metrics = {"dev_balanced_accuracy": balanced_accuracy(y_dev, dev_scores >= threshold)}
        metrics |= _heldout_metrics(encoder, model, threshold, heldout, trainable)
        params = {"threshold": threshold, "train_seconds": round(time.perf_counter() - started, 1)}
        manifest = Manifest(
            kind="grounding",
            seed=seed,
            data_hash=data_hash,
            data_sizes={"train": len(train), "dev": len(dev), "begin_heldout": len(heldout)},
            labels=["unsupported", "supported"],
            params=params,
            metrics=metrics,
        )
        manifest = write_manifest(work, manifest)
    return manifest


def _heldout_metrics(encoder, model, threshold, heldout, trainable) -> dict[str, float]:
    if not heldout:
        return {}
    y = np.array([p.supported for p in heldout])
    scores = model.predict_proba(features_of(encoder, heldout))[:, 1]
    overlap_train = np.array([token_overlap(p.claim, list(p.passages)) for p in trainable])
    overlap_threshold = best_threshold(overlap_train, np.array([p.supported for p in trainable]))
    overlap = np.array([token_overlap(p.claim, list(p.passages)) for p in heldout])
    return {
        "begin_heldout_f1_unsupported": f1_unsupported(y, scores >= threshold),
        "begin_heldout_balanced_accuracy": balanced_accuracy(y, scores >= threshold),
        "begin_heldout_overlap_f1_unsupported": f1_unsupported(y, overlap >= overlap_threshold),
        "begin_heldout_overlap_balanced_accuracy": balanced_accuracy(y, overlap >= overlap_threshold),
        "overlap_threshold": overlap_threshold,
    }
