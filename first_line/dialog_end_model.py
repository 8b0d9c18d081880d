"""End-of-dialog detector: P(the client's message just received is their last one).

Above the domain's `policy.dialog_end_threshold`, the reply carries `feedback_form: true` and the
client app shows the VOC 1..5 form. Input: the client's last turns (the last text with word and
character n-grams, the previous text, the history, the number of turns). A logistic regression,
so P is a probability the threshold can be set against.

Data: every client turn of MultiDoGO finance, SGD Banks and STAR bank; the label is "this is the
dialog's last client turn". STAR dialogs that broke off (the client disconnected) have no label
for their last turn. Baseline: the keywords "thanks" and "bye".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from first_line.artifacts import Manifest, load_manifest, new_version, write_manifest
from first_line.dialog_corpora import Dialog
from first_line.dialog_features import (
    DialogFeaturizer,
    DialogScorer,
    DialogSoFar,
    load_bundle,
    save_bundle,
)
from first_line.e5_graph import E5_DEPENDENCY
from first_line.russian_dialog_end import RussianEndTraining, train_russian_dialog_end

KIND = "dialog_end"
KEYWORDS = re.compile(r"\b(thanks?|thank you|thx|(good)?bye)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DialogEndSample:
    so_far: DialogSoFar
    is_last: bool
    source: str


def dialog_samples(dialog: Dialog) -> list[DialogEndSample]:
    texts = tuple(t.text for t in dialog.turns)
    samples = []
    for k in range(len(texts)):
        last = k == len(texts) - 1
        if last and not dialog.ended:
            continue
        samples.append(DialogEndSample(DialogSoFar(texts=texts[: k + 1]), last, dialog.source))
    return samples


def build_samples(dialogs: list[Dialog]) -> list[DialogEndSample]:
    return [s for d in dialogs for s in dialog_samples(d)]


def keyword_baseline(text: str) -> bool:
    """The baseline: the message says thanks or bye."""
    return KEYWORDS.search(text) is not None


class DialogEndModel:
    def __init__(self, artifact_dir: Path | str) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.manifest: Manifest = load_manifest(self.artifact_dir, KIND)
        self.featurizer: DialogFeaturizer
        self.classifier: LogisticRegression
        self.featurizer, self.classifier = load_bundle(self.artifact_dir)
        self.scorer = DialogScorer(self.featurizer, self.classifier)
        """One dialog at a time, at run time (batches go through sklearn)."""
        self._positive = list(self.classifier.classes_).index(True)

    def probabilities(self, dialogs: list[DialogSoFar]) -> np.ndarray:
        return self.classifier.predict_proba(self.featurizer.transform(dialogs))[:, self._positive]

    def probability(self, texts: list[str]) -> float:
        """P(over) for the client's texts of this dialog, oldest first, the current message last."""
        return float(self.scorer.probabilities([DialogSoFar(texts=tuple(texts))])[0, self._positive])


def f1_at(probabilities: np.ndarray, truth: np.ndarray, threshold: float) -> float:
    return float(f1_score(truth, probabilities >= threshold, zero_division=0))


def best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 on a grid."""
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    scores = [f1_at(probabilities, truth, t) for t in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), float(scores[best])


def train_dialog_end_model(
    train_dialogs: list[Dialog],
    eval_dialogs: list[Dialog],
    out_dir: Path,
    data_hash: str,
    threshold: float,
    seed: int = 13,
    c: float = 4.0,
    russian: RussianEndTraining | None = None,
) -> Manifest:
    """`russian`: also train the Russian head (`russian_dialog_end.py`) on the same samples and its own."""
    train = build_samples(train_dialogs)
    featurizer = DialogFeaturizer(char_ngrams=True, use_labels=False, use_length=False)
    featurizer.fit([s.so_far for s in train])
    classifier = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    classifier.fit(featurizer.transform([s.so_far for s in train]), [s.is_last for s in train])
    evaluation = build_samples(eval_dialogs)
    with new_version(out_dir) as work:
        save_bundle(work, featurizer, classifier)
        params: dict[str, float] = {"C": c}
        if russian is not None:
            so_far = [s.so_far.texts for s in train]
            params |= train_russian_dialog_end(so_far, [s.is_last for s in train], work, russian, seed)
            data_hash = f"{data_hash}+{russian.data_hash()}"
        manifest = Manifest(
            kind=KIND,
            seed=seed,
            data_hash=data_hash,
            data_sizes={"train_samples": len(train), "eval_samples": len(evaluation)},
            labels=["continues", "over"],
            params=params,
            depends_on=E5_DEPENDENCY if russian is not None else {},
        )
        write_manifest(work, manifest)
    model = DialogEndModel(out_dir)
    metrics = evaluate_samples(model, evaluation, threshold)
    manifest = model.manifest.model_copy(update={"metrics": metrics})
    write_manifest(out_dir, manifest)
    return manifest


def evaluate_samples(model: DialogEndModel, samples: list[DialogEndSample], threshold: float) -> dict:
    truth = np.array([s.is_last for s in samples])
    probabilities = model.probabilities([s.so_far for s in samples])
    baseline = np.array([keyword_baseline(s.so_far.texts[-1]) for s in samples])
    best_t, best_f1 = best_threshold(probabilities, truth)
    return {
        "f1": f1_at(probabilities, truth, threshold),
        "baseline_f1": float(f1_score(truth, baseline, zero_division=0)),
        "threshold": threshold,
        "best_threshold": best_t,
        "best_f1": best_f1,
        "samples": float(len(samples)),
        "positives": float(truth.sum()),
    }
