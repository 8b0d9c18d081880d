"""`twoline train censor`: the tone classifier the censor runs on every sentence of an answer.

Two binary heads (block or not), trained on 75% of the data:
- logistic regression on the int8 MiniLM sentence embedding (meaning: sarcasm, blame, promises, advice);
- logistic regression on word 1-2 + character 2-5 grams (spelling: Russian, masked swear words, slang);
then a stacker (logistic regression on their logits, the `alt-profanity-check` lexicon model's logit for
English, a Russian flag, and the cosine to the nearest inappropriate and nearest polite bank-style
example: with a dozen examples per category, "close to one of them" generalises better than a plane)
and the block threshold, fitted on the other 25%. A category head (logistic regression on the
embedding, inappropriate rows only) names what is wrong. The bank-style rows and the
demo bank's own answers weigh more than the public corpora, which outnumber them a hundred to one.
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
from guardrails.profanity_lexicon import profanity_lexicon
from guardrails.text import mask_quotes
from guardrails.tone_data import OK, ToneData, ToneExample

log = logging.getLogger("twoline.train")

HEAD = "head.joblib"
PROTOTYPES = "prototypes.npz"
STACKER = "stacker.joblib"
CATEGORY_HEAD = "category_head.joblib"
TFIDF = "tfidf.joblib"
DEV_SHARE = 0.25
STYLE_WEIGHTS = {"bank": 15.0, "demo_responses": 8.0}
POLITE_BANK_WEIGHT = 30.0
"""A polite bank-style row weighs twice an inappropriate one: a false block costs a good answer."""
TARGET_FALSE_BLOCK = 0.02
"""The threshold is the lowest one that blocks at most this share of the polite dev rows."""


def tfidf_pipeline(c: float = 10.0) -> Pipeline:
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=50_000)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                      max_features=80_000)),
        ]
    )  # fmt: skip
    return Pipeline([("features", features), ("classifier", LogisticRegression(C=c, max_iter=2000))])


def model_text(text: str) -> str:
    """What the models see: quoted customer words masked, lower-cased."""
    return mask_quotes(text).lower()


def _fit(
    encoder, examples: list[ToneExample]
) -> tuple[LogisticRegression, Pipeline, LogisticRegression, dict]:
    texts = [model_text(e.text) for e in examples]
    y = np.array([e.label for e in examples])
    weights = _sample_weights(examples)
    embeddings = encoder.encode(texts)
    head = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
    head.fit(embeddings, y, sample_weight=weights)
    tfidf = tfidf_pipeline()
    tfidf.set_params(classifier__class_weight="balanced")
    tfidf.fit(texts, y, classifier__sample_weight=weights)
    bad = y == 1
    categories = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
    categories.fit(embeddings[bad], [e.category for e, b in zip(examples, bad, strict=True) if b])
    styled = np.array([e.source in STYLE_WEIGHTS for e in examples])
    prototypes = {"bad": embeddings[styled & bad], "good": embeddings[styled & ~bad]}
    return head, tfidf, categories, prototypes


def _sample_weights(examples: list[ToneExample]) -> np.ndarray:
    return np.array(
        [POLITE_BANK_WEIGHT if e.source == "bank" and not e.label else STYLE_WEIGHTS.get(e.source, 1.0)
         for e in examples]
    )  # fmt: skip


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def stack_features(
    head_p: np.ndarray,
    tfidf_p: np.ndarray,
    lexicon_p: np.ndarray,
    russian: np.ndarray,
    embeddings: np.ndarray,
    prototypes: dict[str, np.ndarray],
) -> np.ndarray:
    """The stacker's inputs: each head's logit, the lexicon's logit (English only), a Russian flag, the
    cosine to the nearest bad and nearest polite bank-style example."""
    english = 1.0 - russian
    nearest_bad = (embeddings @ prototypes["bad"].T).max(axis=1)
    nearest_good = (embeddings @ prototypes["good"].T).max(axis=1)
    return np.column_stack(
        [_logit(head_p), _logit(tfidf_p), _logit(lexicon_p) * english, russian, nearest_bad, nearest_good,
         nearest_bad - nearest_good]
    )  # fmt: skip


def _tune(encoder, dev: list[ToneExample], head, tfidf, prototypes) -> tuple[LogisticRegression, dict]:
    texts = [model_text(e.text) for e in dev]
    russian = np.array([float(e.language == "ru") for e in dev])
    embeddings = encoder.encode(texts)
    features = stack_features(
        head.predict_proba(embeddings)[:, 1],
        tfidf.predict_proba(texts)[:, 1],
        profanity_lexicon().probabilities(texts),
        russian,
        embeddings,
        prototypes,
    )
    labels = np.array([e.label for e in dev])
    stacker = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    stacker.fit(features, labels, sample_weight=_sample_weights(dev))
    bad = stacker.predict_proba(features)[:, 1]
    params: dict[str, float] = {}
    for language, flag in (("en", 0.0), ("ru", 1.0)):
        rows = russian == flag
        params[f"dev_roc_auc_{language}"] = float(roc_auc_score(labels[rows], bad[rows]))
    polite = np.sort(bad[labels == 0])
    params["threshold"] = float(max(0.3, polite[int(len(polite) * (1 - TARGET_FALSE_BLOCK))]))
    bank = np.array([e.source == "bank" for e in dev])
    params["dev_bank_block_rate"] = float(np.mean(bad[bank & (labels == 1)] >= params["threshold"]))
    params["dev_bank_false_block_rate"] = float(np.mean(bad[bank & (labels == 0)] >= params["threshold"]))
    params["dev_false_block_rate"] = float(np.mean(bad[labels == 0] >= params["threshold"]))
    return stacker, params


def train_censor(
    data: ToneData, out_dir: Path, seed: int = 13, data_hash: str = "", encoder_from: Path | None = None
) -> Manifest:
    """Train both heads, tune the mix and the threshold on a dev split, refit, write the artifact."""
    started = time.perf_counter()
    rng = random.Random(seed)
    examples = list(data.train)
    rng.shuffle(examples)
    cut = int(len(examples) * DEV_SHARE)
    dev, train = examples[:cut], examples[cut:]
    with new_version(out_dir) as work:
        provide_encoder(work, encoder_from)
        encoder = load_encoder(work, threads=2, cache_size=len(examples) + 10)
        log.info("training censor", extra={"count": len(train)})
        head, tfidf, categories, prototypes = _fit(encoder, train)
        stacker, params = _tune(encoder, dev, head, tfidf, prototypes)
        np.savez(work / PROTOTYPES, **prototypes)
        joblib.dump(stacker, work / STACKER)
        joblib.dump(head, work / HEAD)
        joblib.dump(tfidf, work / TFIDF)
        joblib.dump(categories, work / CATEGORY_HEAD)
        _write_heldout(data.heldout, work)
        params["train_seconds"] = round(time.perf_counter() - started, 1)
        manifest = Manifest(
            kind="censor",
            seed=seed,
            data_hash=data_hash,
            data_sizes={"train": len(train), "dev": len(dev), "heldout": len(data.heldout)},
            labels=[OK, *sorted(categories.classes_)],
            params={k: v for k, v in params.items() if not k.startswith("dev_")},
            metrics={k: v for k, v in params.items() if k.startswith("dev_")},
        )
        manifest = write_manifest(work, manifest)
    return manifest


def _write_heldout(heldout: list[ToneExample], folder: Path) -> None:
    """The toxicity rows never trained on, as CSVs for `twoline eval tone`."""
    import csv

    for language in ("en", "ru"):
        with open(folder / f"heldout_toxicity_{language}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label", "category", "source"])
            for e in heldout:
                if e.language == language:
                    writer.writerow([e.text, e.label, e.category if e.label else "", e.source])
