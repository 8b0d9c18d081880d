"""Next-intent recommender: after an answer, the intents the client most likely asks for next.

Training samples look ahead: for every client turn that opens a new request (an intent other than
the last request, not small talk or an act), the input is the dialog *before* that turn (its last
client turn removed) and the label is the request. At run time the input is the dialog including
the message just answered, and the top intents become quick buttons (payload `intent:<name>`, as
pool buttons), filtered to the bank's suggestable intents (`dialog_intents.yaml`).

Data: MultiDoGO finance and SGD Banks (`first_line/dialog_corpora.py`), labels mapped onto the
bank's intents by `dialog_intents.yaml`; labels with no counterpart stay as corpus-only labels
(learned and scored, never offered). A bank trains it on its own logged dialogs exported in the
MultiDoGO layout with its intent names (`twoline train next-intent --data its_dialogs.tsv`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from first_line.artifacts import Manifest, load_manifest, new_version, write_manifest
from first_line.dialog_corpora import Dialog, held_out
from first_line.dialog_features import (
    DialogFeaturizer,
    DialogScorer,
    DialogSoFar,
    load_bundle,
    save_bundle,
)
from first_line.dialog_intent_map import DialogIntentMap

KIND = "next_intent"
TOP_K = 3


@dataclass(frozen=True)
class NextIntentSample:
    so_far: DialogSoFar
    target: str
    source: str


def dialog_samples(dialog: Dialog, intent_map: DialogIntentMap) -> list[NextIntentSample]:
    """Every new request of the dialog with the dialog before it (needs at least one earlier turn)."""
    per_turn = intent_map.mapped_turn_labels(dialog)
    samples: list[NextIntentSample] = []
    last_request: str | None = None
    for k, (requests, _) in enumerate(per_turn):
        for request in requests:
            if request != last_request and k > 0:
                so_far = DialogSoFar(
                    texts=tuple(t.text for t in dialog.turns[:k]),
                    labels=tuple(tuple(context) for _, context in per_turn[:k]),
                    last_request=last_request,
                )
                samples.append(NextIntentSample(so_far, request, dialog.source))
        if requests:
            last_request = requests[-1]
    return samples


def build_samples(dialogs: list[Dialog], intent_map: DialogIntentMap) -> list[NextIntentSample]:
    return [s for d in dialogs for s in dialog_samples(d, intent_map)]


class NextIntentModel:
    """The trained recommender, loaded from its artifact folder."""

    def __init__(self, artifact_dir: Path | str) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.manifest: Manifest = load_manifest(self.artifact_dir, KIND)
        self.featurizer: DialogFeaturizer
        self.classifier: LogisticRegression
        self.featurizer, self.classifier = load_bundle(self.artifact_dir)
        self.scorer = DialogScorer(self.featurizer, self.classifier)
        """One dialog at a time, at run time (batches go through sklearn)."""
        self.labels: list[str] = [str(c) for c in self.classifier.classes_]

    def probabilities(self, dialogs: list[DialogSoFar]) -> np.ndarray:
        return self.classifier.predict_proba(self.featurizer.transform(dialogs))

    def rank(self, so_far: DialogSoFar) -> list[tuple[str, float]]:
        """Every label with its probability, most likely first."""
        row = self.scorer.probabilities([so_far])[0]
        return sorted(zip(self.labels, row.tolist(), strict=True), key=lambda x: -x[1])

    def suggest(
        self, so_far: DialogSoFar, allowed: set[str], k: int, min_probability: float
    ) -> list[tuple[str, float]]:
        """Up to k allowed intents at or above the probability, most likely first (not the one just
        answered)."""
        current = so_far.last_request
        return [
            (label, p)
            for label, p in self.rank(so_far)
            if label in allowed and label != current and p >= min_probability
        ][:k]


def hit_at_k(model: NextIntentModel, samples: list[NextIntentSample], k: int = TOP_K) -> float:
    if not samples:
        return float("nan")
    probabilities = model.probabilities([s.so_far for s in samples])
    index = {label: i for i, label in enumerate(model.labels)}
    hits = 0
    for row, sample in zip(probabilities, samples, strict=True):
        top = np.argsort(-row)[:k]
        hits += int(index.get(sample.target, -1) in top)
    return hits / len(samples)


def most_frequent(samples: list[NextIntentSample], k: int = TOP_K) -> list[str]:
    return [label for label, _ in Counter(s.target for s in samples).most_common(k)]


def baseline_hit_at_k(train_targets: list[str], samples: list[NextIntentSample], k: int = TOP_K) -> float:
    """The most-frequent-next-intent baseline: always the k most frequent training targets."""
    if not samples:
        return float("nan")
    top = {label for label, _ in Counter(train_targets).most_common(k)}
    return sum(s.target in top for s in samples) / len(samples)


def train_next_intent_model(
    train_dialogs: list[Dialog],
    eval_dialogs: list[Dialog],
    intent_map: DialogIntentMap,
    out_dir: Path,
    data_hash: str,
    seed: int = 13,
    c: float = 2.0,
) -> Manifest:
    """Fit on the training dialogs' samples, score hit@3 on the evaluation dialogs, write the artifact."""
    train = build_samples(train_dialogs, intent_map)
    if len({s.target for s in train}) < 2:
        raise ValueError("next-intent training data has fewer than two request intents")
    featurizer = DialogFeaturizer().fit([s.so_far for s in train])
    classifier = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    classifier.fit(featurizer.transform([s.so_far for s in train]), [s.target for s in train])
    evaluation = build_samples(eval_dialogs, intent_map)
    with new_version(out_dir) as work:
        save_bundle(work, featurizer, classifier)
        (work / "train_targets.txt").write_text("\n".join(s.target for s in train), encoding="utf-8")
        manifest = Manifest(
            kind=KIND,
            seed=seed,
            data_hash=data_hash,
            data_sizes={"train_samples": len(train), "eval_samples": len(evaluation)},
            labels=[str(c) for c in classifier.classes_],
            params={"C": c},
            depends_on={"dialog_intents": intent_map.fingerprint},
        )
        write_manifest(work, manifest)
    model = NextIntentModel(out_dir)
    metrics = {
        "hit@3": hit_at_k(model, evaluation),
        "baseline_hit@3": baseline_hit_at_k([s.target for s in train], evaluation),
    }
    manifest = model.manifest.model_copy(update={"metrics": metrics})
    write_manifest(out_dir, manifest)
    return manifest


def split_for_training(dialogs: list[Dialog]) -> tuple[list[Dialog], list[Dialog]]:
    """(train, held out) by the fixed hash rule."""
    return [d for d in dialogs if not held_out(d)], [d for d in dialogs if held_out(d)]


def train_targets(artifact_dir: Path) -> list[str]:
    return (Path(artifact_dir) / "train_targets.txt").read_text(encoding="utf-8").split("\n")
