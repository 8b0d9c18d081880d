"""`twoline train sentiment`: fit the client-sentiment detector and report held-out accuracy.

Data: `first_line/sentiment_data.py` (public toxicity / politeness / support sets plus the
domain's own lines), split 80/20 stratified by language and label. The heads are logistic
regressions with balanced class weights: MiniLM (English rows, on the intent model's encoder, when
one is given), E5 (the rows the MiniLM head does not read: Russian, or every row without an intent
encoder) and character n-grams; the figures in the manifest come from the held-out 20 %, per
language and per head, next to a VADER baseline for English.

E5 reads only what it will read in service: with an English head, embedding the ~5,000 English
rows through E5 cost ~4 of the first `make run`'s minutes for a head no English message reaches.
"""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline

from first_line.artifacts import Manifest, new_version, write_manifest
from first_line.e5_graph import E5_DEPENDENCY
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.sentiment_data import ToneExample, split_tone, tone_examples
from first_line.sentiment_model import CHAR_MODEL, ENGLISH_HEAD, HEAD, KIND, SentimentModel, sigmoid
from first_line.text_encoder import TextEncoder
from first_line.training_data import Example, data_hash

log = logging.getLogger("twoline.train.sentiment")
THRESHOLD = 0.5
DATA_DEPENDENCY = "sentiment_data"
"""`depends_on` key: the hash of every labelled example the model was trained from (`sentiment_data_hash`)."""


def train_sentiment(
    data_dir: Path,
    domain_dir: Path,
    out_dir: Path,
    seed: int = 13,
    max_examples: int | None = None,
    encoder: MultilingualEncoder | None = None,
    english_encoder: TextEncoder | None = None,
    depends_on: dict[str, str] | None = None,
) -> Manifest:
    """`english_encoder`: the intent model's encoder (its file hash in `depends_on["intents"]`)."""
    examples = tone_examples(data_dir, domain_dir, seed)
    depends_on = (depends_on or {}) | {DATA_DEPENDENCY: _examples_hash(examples)}
    if max_examples:
        examples = _balanced_slice(examples, max_examples)
    train, held_out = split_tone(examples, seed)
    encoder = encoder or MultilingualEncoder(threads=1, cache_size=0)
    e5_languages = ("ru",) if english_encoder is not None else ("en", "ru")
    e5_train = [e for e in train if e.language in e5_languages]
    log.info("training sentiment", extra={"count": len(train), "e5_rows": len(e5_train)})
    head = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(
        encoder.encode([e.text for e in e5_train]), np.array([e.negative for e in e5_train])
    )
    y_train = np.array([e.negative for e in train])
    chars = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, lowercase=False),
        LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced"),
    ).fit([e.text for e in train], y_train)
    english_train = [e for e in train if e.language == "en"]
    with new_version(out_dir) as work:
        np.savez(work / HEAD, weights=head.coef_[0].astype(np.float32), bias=np.float32(head.intercept_[0]))
        if english_encoder is not None and english_train:
            english = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(
                english_encoder.encode([e.text for e in english_train]),
                np.array([e.negative for e in english_train]),
            )
            weights, bias = english.coef_[0].astype(np.float32), np.float32(english.intercept_[0])
            np.savez(work / ENGLISH_HEAD, weights=weights, bias=bias)
        joblib.dump(chars, work / CHAR_MODEL)
        params = {"threshold_for_metrics": THRESHOLD, "e5_reads_english": float("en" in e5_languages)}
        write_manifest(work, _manifest(examples, train, held_out, seed, params, depends_on=depends_on))
        model = SentimentModel(work, encoder, english_encoder)
        metrics = evaluate(model, held_out, e5_languages)
        final = _manifest(examples, train, held_out, seed, params, metrics, depends_on)
        manifest = write_manifest(work, final)
    return manifest


def evaluate(
    model: SentimentModel, held_out: list[ToneExample], e5_languages: tuple[str, ...] = ("en", "ru")
) -> dict[str, float]:
    """Accuracy, F1 (negative class) and ROC-AUC on the held-out split; per language and head (E5 on
    the languages it was trained for); VADER for English."""
    texts = [e.text for e in held_out]
    labels = np.array([e.negative for e in held_out])
    embedded = model.embedding_head(texts)
    chars = model.char_head(texts)
    both = (embedded + chars) / 2
    metrics = _scores("", labels, both)
    metrics |= {"accuracy_embedding_head": accuracy_score(labels, embedded >= THRESHOLD)}
    metrics |= {"accuracy_char_head": accuracy_score(labels, chars >= THRESHOLD)}
    for language in ("en", "ru"):
        mask = np.array([e.language == language for e in held_out])
        if mask.any() and len(set(labels[mask])) == 2:
            metrics |= _scores(f"{language}_", labels[mask], both[mask])
            if language in e5_languages:
                rows = [texts[i] for i in np.flatnonzero(mask)]
                e5_only = sigmoid(model.encoder.encode(rows) @ model._weights + model._bias)
                metrics[f"{language}_accuracy_e5_head"] = accuracy_score(labels[mask], e5_only >= THRESHOLD)
                e5_view = (e5_only + chars[mask]) / 2 >= THRESHOLD
                metrics[f"{language}_accuracy_e5_plus_chars"] = accuracy_score(labels[mask], e5_view)
    english = [i for i, e in enumerate(held_out) if e.language == "en"]
    if english:
        metrics["en_accuracy_vader_baseline"] = _vader_accuracy([texts[i] for i in english], labels[english])
    metrics["held_out"] = float(len(held_out))
    return {k: round(float(v), 4) for k, v in metrics.items()}


def _scores(prefix: str, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predicted = probabilities >= THRESHOLD
    scores = {
        f"{prefix}accuracy": accuracy_score(labels, predicted),
        f"{prefix}f1_negative": f1_score(labels, predicted, zero_division=0),
    }
    if len(set(labels)) == 2:
        scores[f"{prefix}roc_auc"] = roc_auc_score(labels, probabilities)
    return scores


def _vader_accuracy(texts: list[str], labels: np.ndarray) -> float:
    """Baseline: VADER's compound score ≤ -0.05 counts as negative (its authors' own cut-off)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    predicted = np.array([analyzer.polarity_scores(t)["compound"] <= -0.05 for t in texts])
    return accuracy_score(labels, predicted)


def _balanced_slice(examples: list[ToneExample], limit: int) -> list[ToneExample]:
    """At most `limit` examples, an equal share from each (language, label) group (quick runs, tests)."""
    groups: dict[tuple[str, int], list[ToneExample]] = {}
    for example in examples:
        groups.setdefault((example.language, example.negative), []).append(example)
    share = max(2, limit // max(len(groups), 1))
    return [e for key in sorted(groups) for e in groups[key][:share]]


def sentiment_data_hash(data_dir: Path, domain_dir: Path, seed: int = 13) -> str:
    """The hash of every labelled example (before any slice for a quick run): a model trained on other
    examples (the domain's sentiment lines were edited) is stale, and `make run` retrains it."""
    return _examples_hash(tone_examples(data_dir, domain_dir, seed))


def _examples_hash(examples: list[ToneExample]) -> str:
    return data_hash([Example(e.text, str(e.negative)) for e in examples])


def _manifest(
    examples: list[ToneExample],
    train: list[ToneExample],
    held_out: list[ToneExample],
    seed: int,
    params: dict[str, float],
    metrics: dict[str, float] | None = None,
    depends_on: dict[str, str] | None = None,
) -> Manifest:
    return Manifest(
        kind=KIND,
        seed=seed,
        data_hash=_examples_hash(examples),
        data_sizes={"train": len(train), "held_out": len(held_out)},
        labels=["not_negative", "negative"],
        params=params,
        metrics=metrics or {},
        depends_on=(depends_on or {}) | E5_DEPENDENCY,
    )
