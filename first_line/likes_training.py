"""`twoline train likes`: fit the likes (dislike) model and measure it on held-out messages.

Pairs come from `first_line/likes_data.py`: the store's own reactions, plus the bootstrap weak
labels while the store holds fewer than `policy.likes_min_stored_reactions` of them (and the
STAR bank dialogs, down-weighted). Bootstrap pairs are built from the intent splits, so the
held-out pairs use only the intent model's held-out messages (never seen by either model);
stored and STAR pairs are split 80/20 by a seeded hash of the message.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from first_line.artifacts import Manifest, new_version, write_manifest
from first_line.domain import Domain
from first_line.likes_data import Pair, bootstrap_pairs, star_pairs
from first_line.likes_model import HEAD, KIND, LikesModel, pair_features
from first_line.text_encoder import TextEncoder
from first_line.training_data import Example, Splits, data_hash

log = logging.getLogger("twoline.train.likes")


def held_out(pair: Pair, seed: int, share: float = 0.2) -> bool:
    digest = hashlib.sha256(f"{seed}:{pair.text}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def likes_pairs(
    splits: Splits,
    domain: Domain,
    stored: list[Pair],
    data_dir: Path,
    seed: int = 13,
    star_limit: int | None = None,
) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) pairs: stored reactions always; bootstrap + STAR while stored ones are few."""
    train = [p for p in stored if not held_out(p, seed)]
    test = [p for p in stored if held_out(p, seed)]
    if len(stored) < domain.settings.policy.likes_min_stored_reactions:
        train += bootstrap_pairs(splits.train + splits.dev, domain, seed)
        test += bootstrap_pairs(splits.test, domain, seed + 1)
        star = star_pairs(data_dir / "star_bank", star_limit)
        train += [p for p in star if not held_out(p, seed)]
        test += [p for p in star if held_out(p, seed)]
    return train, test


def train_likes_model(
    train: list[Pair],
    test: list[Pair],
    encoder: TextEncoder,
    out_dir: Path,
    depends_on: dict[str, str],
    seed: int = 13,
) -> Manifest:
    if len({p.disliked for p in train}) < 2:
        raise ValueError("the likes model needs both liked and disliked pairs")
    log.info("training likes", extra={"count": len(train)})
    features = _features(encoder, train)
    labels = np.array([p.disliked for p in train])
    weights = np.array([p.weight for p in train])
    head = LogisticRegression(C=1.0, max_iter=3000).fit(features, labels, sample_weight=weights)
    manifest = Manifest(
        kind=KIND,
        seed=seed,
        data_hash=data_hash([Example(f"{p.text}\t{p.answer}", str(p.disliked)) for p in train]),
        data_sizes={"train": len(train), "held_out": len(test)} | _counts(train),
        labels=["liked", "disliked"],
        depends_on=depends_on,
    )
    with new_version(out_dir) as work:
        np.savez(work / HEAD, weights=head.coef_[0].astype(np.float32), bias=np.float32(head.intercept_[0]))
        write_manifest(work, manifest)
        metrics = evaluate(LikesModel(work, encoder), test)
        manifest = write_manifest(work, manifest.model_copy(update={"metrics": metrics}))
    return manifest


def evaluate(model: LikesModel, test: list[Pair]) -> dict[str, float]:
    """ROC-AUC on the held-out pairs, overall and by source."""
    metrics: dict[str, float] = {}
    for source in (None, "bootstrap", "star", "stored"):
        subset = [p for p in test if source is None or p.source == source]
        labels = [p.disliked for p in subset]
        if len(set(labels)) < 2:
            continue
        scores = model.probabilities([p.text for p in subset], [p.context for p in subset],
                                     [p.answer for p in subset])  # fmt: skip
        metrics[f"roc_auc{'_' + source if source else ''}"] = round(float(roc_auc_score(labels, scores)), 4)
        metrics[f"held_out{'_' + source if source else ''}"] = float(len(subset))
    return metrics


def _features(encoder: TextEncoder, pairs: list[Pair]) -> np.ndarray:
    return pair_features(
        encoder, [p.text for p in pairs], [p.context for p in pairs], [p.answer for p in pairs]
    )


def _counts(pairs: list[Pair]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pair in pairs:
        key = f"{pair.source}_{'dislike' if pair.disliked else 'like'}"
        counts[key] = counts.get(key, 0) + 1
    return counts
