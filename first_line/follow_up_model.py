"""Does a message lean on the client's message before it? "how long?", "why was I charged?", "it was
rejected again": a follow-up whose intent the message alone does not say.

The intent model reads such a message mostly alone (its context head learned from synthetic pairs), and
when it is sure, it is often sure of the wrong intent: on written follow-ups it answered 96 of 220, 84 of
them right (87.5%, against the domain's target precision of 98%). Read together with the message before,
its top intent agreed with the message alone's on 74 of those 96, 73 of them right. So the policy
(`router/policy.py`, rules 5 and 6) answers a follow-up only when both readings agree, and otherwise
asks the clarifying question of the reading with the previous message.

This module tells a follow-up from a self-contained message: a logistic regression over the message's
word and character TF-IDF and its embedding by the encoder of the intent model that reads it (MiniLM for
English, E5 for Russian; cached from that model's own reading, so no extra encoder run). It is trained on
the domain's written follow-ups (`training/follow_ups.csv` and `training/follow_ups_ru.csv`,
`context,text,category`: the texts are follow-ups, their opening messages are not) against the intent
training messages of that language, which stand on their own. On Russian follow-ups the Russian model,
which reads no context, answered worse still (dev: 184 answered, 129 right); the same rule cut the blind
set's wrong answers from 37 to 12 of 163 (docs/measurements.md).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Protocol

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from first_line.artifacts import Manifest, load_manifest, new_version, write_manifest
from first_line.table_files import open_table
from first_line.tfidf_scorer import TfidfFeatures
from first_line.training_data import Example, data_hash

KIND = "follow_ups"
FOLLOW_UPS_FILE = "follow_ups.csv"
"""In the domain's `training/` folder; a domain without it gets no detector (the rule is then off)."""
RUSSIAN_FOLLOW_UPS_FILE = "follow_ups_ru.csv"
"""The same for Russian messages, read by the Russian intent model's E5 encoder."""
CUT = 0.8
"""P(follow-up) from which a message is read with the previous one. Chosen on written follow-ups never
trained on (`evals/data/followups_dev.csv`) and on the held-out messages each replayed after a message of
another intent (with negatives drawn at random then): at 0.7 the dev follow-ups' wrong answers fell from 12
to 2 but 15 right answers after a topic switch were lost; at 0.8, 2 and 10; at 0.9, 4 and 3."""
RUSSIAN_CUT = 0.5
"""The same for the Russian detector, chosen on the Russian dev follow-ups (`evals/data/followups_ru_dev.csv`)
and the Russian dev messages each replayed after one of another intent, with the Russian intent model of
session 34: at 0.8, 120 follow-ups answered right and 18 wrong, 258 of 275 topic switches right; at 0.65, 120
/ 15 and 257; at 0.5, 120 / 13 and 252. The 11 answers the lower cut gives up were 6 right (55%), far under
the domain's target precision."""
NEGATIVES = 3000
"""Self-contained intent training messages drawn as negatives beside the follow-ups' openers, the same
number of every intent, so that short small talk counts too. It is not enough: "ok bye" still scores 0.85
and "no that's all" 0.95 (0.92 and 0.97 drawn at random), so the policy takes a message whose best reading
is one of the domain's `stand_alone_intents` as it is."""


def written_follow_ups(domain_dir: Path, language: str) -> Path | None:
    """The domain's written follow-ups in `language` ("en" or "ru"), if it has them."""
    path = domain_dir / "training" / (RUSSIAN_FOLLOW_UPS_FILE if language == "ru" else FOLLOW_UPS_FILE)
    return path if path.exists() else None


def read_follow_ups(path: Path) -> list[tuple[str, str]]:
    """(previous message, follow-up) pairs of a `context,text[,category]` CSV."""
    with open_table(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"context", "text"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        return [(row["context"].strip(), row["text"].strip()) for row in reader if row["text"].strip()]


def with_previous(previous: str, text: str) -> str:
    """A message read together with the client's message before it: "I ordered a new card. how long?"."""
    return f"{previous.rstrip(' .!?')}. {text}"


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


class FollowUpDetector:
    """P(the message leans on the one before it), from one fitted logistic regression."""

    def __init__(self, artifact_dir: Path | str, encoder: Encoder) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind=KIND, trained_by="intents")
        self.encoder = encoder
        self.cut = self.manifest.params["cut"]
        self._tfidf = TfidfFeatures(joblib.load(self.artifact_dir / "tfidf.joblib"))
        head = np.load(self.artifact_dir / "head.npz")
        self._tfidf_weights = head["weights"][: self._tfidf.size].astype(np.float64)
        self._embedding_weights = head["weights"][self._tfidf.size :].astype(np.float32)
        self._bias = float(head["bias"])

    def probability(self, text: str) -> float:
        index, values = self._tfidf.row(text)
        logit = self._bias + float(self.encoder.encode([text])[0] @ self._embedding_weights)
        logit += float(values @ self._tfidf_weights[index]) if len(index) else 0.0
        return float(1.0 / (1.0 + np.exp(-logit)))

    def is_follow_up(self, text: str) -> tuple[bool, float]:
        """(whether to read the message with the previous one, P(follow-up))."""
        p = self.probability(text)
        return p >= self.cut, p


def train_follow_up_detector(
    follow_ups: list[tuple[str, str]],
    intent_examples: list[Example],
    held_out: list[Example],
    encoder: Encoder,
    depends_on: dict[str, str],
    out_dir: Path,
    seed: int = 13,
    cut: float = CUT,
) -> Manifest:
    """Fit the detector: follow-ups against their openers and `NEGATIVES` intent messages (~10 s).
    `encoder` is the one the intent model that reads these messages embeds them with (MiniLM for English,
    E5 for Russian); `depends_on` names it, so that the detector is stale when it changes."""
    self_contained = _per_intent_sample(intent_examples, NEGATIVES, seed)
    positives = [text for _, text in follow_ups]
    negatives = [previous for previous, _ in follow_ups] + self_contained
    texts = positives + negatives
    targets = np.array([1] * len(positives) + [0] * len(negatives))
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )
    matrix = _with_embeddings(features.fit_transform(texts), encoder.encode(texts))
    head = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced").fit(matrix, targets)
    with new_version(out_dir) as work:
        joblib.dump(features, work / "tfidf.joblib")
        np.savez(work / "head.npz", weights=head.coef_[0].astype(np.float32), bias=head.intercept_[0])
        metrics = _read_as_follow_ups(head, features, encoder, [e.text for e in held_out], cut)
        return write_manifest(
            work,
            Manifest(
                kind=KIND,
                seed=seed,
                data_hash=data_hash([Example(t, str(y)) for t, y in zip(texts, targets, strict=True)]),
                data_sizes={"follow_ups": len(positives), "self_contained": len(negatives)},
                labels=["self_contained", "follow_up"],
                params={"cut": cut},
                metrics=metrics,
                depends_on=depends_on,
            ),
        )


def _per_intent_sample(examples: list[Example], count: int, seed: int) -> list[str]:
    """About `count` texts, as many of each intent (all of an intent that has fewer)."""
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    rng = random.Random(seed)
    share = max(1, count // max(1, len(by_intent)))
    return [
        text
        for intent in sorted(by_intent)
        for text in rng.sample(by_intent[intent], min(share, len(by_intent[intent])))
    ]


def _read_as_follow_ups(
    head, features, encoder: Encoder, held_out: list[str], cut: float
) -> dict[str, float]:
    """The share of the intent model's held-out messages (self-contained) the detector would read with the
    message before them."""
    if not held_out:
        return {}
    p = head.predict_proba(_with_embeddings(features.transform(held_out), encoder.encode(held_out)))[:, 1]
    return {"held_out_read_as_follow_up": float((p >= cut).mean())}


def _with_embeddings(tfidf, embeddings: np.ndarray):
    from scipy import sparse

    return sparse.hstack([tfidf, sparse.csr_matrix(embeddings)]).tocsr()
