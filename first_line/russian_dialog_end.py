"""End of dialog for Russian messages: P(the client's message just received is their last one).

The end-of-dialog detector (`dialog_end_model.py`) reads English words, so a Russian client who closed with
"Спасибо, больше ничего не нужно" never saw the VOC form (only an answered goodbye showed it). This head
reads what E5 reads in any language: a logistic regression over the multilingual-E5 embeddings of the
client's last text and the one before it,

    P(over) = sigmoid(w · [e5(last), e5(previous), has_previous] + b),

trained on the same English dialogs and labels as the detector (MultiDoGO, SGD Banks, STAR; E5 maps a
Russian closing near its English counterpart) and on the domain's Russian dialogs (`RUSSIAN_DIALOGS`),
classes balanced. The service asks it for messages written in Russian (Cyrillic, or translit read in
Cyrillic); E5 has already embedded the last text for the sentiment model, so the cached vector costs
nothing more. Its file lives in the detector's artifact (`artifacts/dialog_end`), trained with it when the
domain speaks Russian.

Chosen on `evals/data/dialog_end_ru_dev.csv` (160 dialogs, 526 messages; session 30) at the domain's
threshold 0.5, as F1 / share of last messages shown the form / share of the others: the English corpora
alone 0.73 / 72% / 7.1% (unbalanced: a third of the closings found); with the domain's 1,025 Russian
messages at weight 3, 10, 30, 100, 300: F1 0.81, 0.88, 0.92, **0.94** (98.3% / 3.4%, shipped), 0.94; the
Russian messages alone 0.88-0.93; the English detector 0 / 0% / 0%; the keywords "спасибо", "до свидания",
... 0.82 / 73% / 1.7%.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from first_line.artifacts import ArtifactError
from first_line.multilingual_encoder import MultilingualEncoder

HEAD = "russian_head.npz"
RUSSIAN_DIALOGS = Path("training") / "russian_dialogs_train.csv"
"""The domain's Russian dialogs (`dialog_id,turn,text,is_last`, client messages only), trained on with the
English corpora."""
MAX_TRAINING_SAMPLES = 30_000
"""Client turns embedded for training (the shared corpora hold ~24,000: ~60 s of E5 on 2 cores)."""


def features(encoder: MultilingualEncoder, dialogs: list[tuple[str, ...]]) -> np.ndarray:
    """[e5(last), e5(previous) or zeros, 1 if there is a previous text] for each dialog's client texts."""
    last = encoder.encode([texts[-1] for texts in dialogs])
    has_previous = np.array([[len(texts) > 1] for texts in dialogs], dtype=np.float32)
    previous = encoder.encode([texts[-2] if len(texts) > 1 else "" for texts in dialogs]) * has_previous
    return np.hstack([last, previous, has_previous])


class RussianDialogEnd:
    def __init__(self, artifact_dir: Path | str, encoder: MultilingualEncoder | None = None) -> None:
        path = Path(artifact_dir) / HEAD
        if not path.is_file():
            raise ArtifactError(f"{artifact_dir}: no {HEAD}; retrain with `twoline train dialog-end`")
        head = np.load(path)
        self._weights, self._bias = head["weights"], float(head["bias"])
        self.encoder = encoder or MultilingualEncoder()

    def probability(self, texts: list[str]) -> float:
        """P(over) for the client's texts of this dialog, oldest first, the current message last."""
        x = features(self.encoder, [tuple(texts)])[0]
        return float(1.0 / (1.0 + np.exp(-(x @ self._weights + self._bias))))


def read_dialog_turns(path: Path) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """From a `dialog_id,turn,text,is_last` CSV (client messages only): each message with the client's
    texts up to it, and whether it is its dialog's last (`is_last` 1 / true)."""
    by_dialog: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_dialog[row["dialog_id"]].append(row)
    so_far, is_last = [], []
    for rows in by_dialog.values():
        rows.sort(key=lambda row: int(row["turn"]))
        texts = tuple(row["text"] for row in rows)
        for k, row in enumerate(rows):
            so_far.append(texts[: k + 1])
            is_last.append(row["is_last"].strip().lower() in ("1", "true"))
    return so_far, np.array(is_last, dtype=bool)


@dataclass(frozen=True)
class RussianEndTraining:
    """What the Russian head is trained with besides the English corpora's samples."""

    encoder: MultilingualEncoder
    dialogs: list[tuple[str, ...]] = field(default_factory=list)
    """The domain's Russian messages, each with the client's texts up to it (`RUSSIAN_DIALOGS`)."""
    is_last: list[bool] = field(default_factory=list)
    weight: float = 100.0
    """Weight of a Russian sample against an English one."""
    c: float = 3.0
    max_english: int = MAX_TRAINING_SAMPLES

    def data_hash(self) -> str:
        rows = "\n".join(
            f"{int(last)}\t{' | '.join(texts)}"
            for texts, last in zip(self.dialogs, self.is_last, strict=True)
        )
        return hashlib.sha256(rows.encode("utf-8")).hexdigest()[:16]

    @classmethod
    def for_domain(
        cls, domain_dir: Path, encoder: MultilingualEncoder, max_english: int = MAX_TRAINING_SAMPLES
    ) -> RussianEndTraining:
        path = domain_dir / RUSSIAN_DIALOGS
        if not path.is_file():
            return cls(encoder, max_english=max_english)
        dialogs, is_last = read_dialog_turns(path)
        return cls(encoder, dialogs, list(is_last), max_english=max_english)


def train_russian_dialog_end(
    dialogs: list[tuple[str, ...]],
    is_last: list[bool],
    work: Path,
    training: RussianEndTraining,
    seed: int = 13,
) -> dict[str, float]:
    """Writes `HEAD` into `work` from the English (client texts so far, is this the last) samples and the
    domain's Russian ones; returns what it was trained on, for the manifest."""
    chosen = random.Random(seed).sample(range(len(dialogs)), min(training.max_english, len(dialogs)))
    texts = [dialogs[i] for i in chosen] + training.dialogs
    y = np.array([is_last[i] for i in chosen] + list(training.is_last), dtype=bool)
    weights = np.array([1.0] * len(chosen) + [training.weight] * len(training.dialogs))
    head = LogisticRegression(C=training.c, max_iter=5000, class_weight="balanced", random_state=seed)
    head.fit(features(training.encoder, texts), y, sample_weight=weights)
    np.savez(work / HEAD, weights=head.coef_[0].astype(np.float32), bias=np.float32(head.intercept_[0]))
    return {
        "russian_head_english_samples": float(len(chosen)),
        "russian_head_russian_samples": float(len(training.dialogs)),
        "russian_head_weight": training.weight,
        "russian_head_c": training.c,
    }
