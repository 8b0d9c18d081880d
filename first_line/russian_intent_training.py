"""`twoline train intents` also trains the Russian intent model (`russian_intent_model.py`).

Data, all E5 query embeddings of one message at a time (what the service computes):
- English: up to `english_per_intent` training messages of each intent (the intent model's train split);
- Russian: the domain's written Russian messages (`training/russian_messages_train.csv`) and each
  intent's Russian label, weighted `russian_weight` times an English message (they are in the language
  the model serves);
- Russian dev (`training/russian_messages_dev.csv`): the temperature, and the probabilities the threshold
  is tuned on, from the model fitted without them; then the head is refitted with them (as the English
  model is refitted on train + dev).
The Russian test set (`evals/data/russian_intents_test.csv`) is never read here.

The defaults had the lowest dev log-loss on a grid (session 29; English messages an intent 0, 20, 40, 80,
all; Russian weight 1, 3, 10; C 5, 20, 80): 20 / 10 / 20 gave 0.146 (dev accuracy 94.6%); Russian
messages alone 0.174-0.179 (94.3-94.6%); every English message at weight 1, 0.343 (89.9%). The written
Russian messages carry the model; the English ones widen what it has seen.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from first_line.artifacts import Manifest, new_version, write_manifest
from first_line.domain import Domain
from first_line.e5_graph import E5_DEPENDENCY
from first_line.intent_model import softmax
from first_line.intent_training import fit_temperature, mean_log_loss
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.russian_intent_model import DEV_PROBABILITIES, HEAD, KIND
from first_line.training_data import Example, data_hash, read_labelled_csv, stratified_slice
from first_line.translit_training import TranslitCorpus, train_translit_reader

log = logging.getLogger("twoline.train")

RUSSIAN_TRAIN = Path("training") / "russian_messages_train.csv"
RUSSIAN_DEV = Path("training") / "russian_messages_dev.csv"


def russian_examples(domain_dir: Path, domain: Domain) -> tuple[list[Example], list[Example]]:
    """(train, dev): the domain's Russian messages, with each intent's Russian label added to train."""
    labels = [
        Example(intent.label["ru"], name) for name, intent in domain.intents.items() if "ru" in intent.label
    ]
    train = read_labelled_csv(domain_dir / RUSSIAN_TRAIN) if (domain_dir / RUSSIAN_TRAIN).exists() else []
    dev = read_labelled_csv(domain_dir / RUSSIAN_DEV) if (domain_dir / RUSSIAN_DEV).exists() else []
    return train + labels, dev


def train_russian_intent_model(
    english: list[Example],
    russian_train: list[Example],
    russian_dev: list[Example],
    out_dir: Path,
    translit: TranslitCorpus | None = None,
    seed: int = 13,
    english_per_intent: int = 20,
    russian_weight: float = 10.0,
    c: float = 20.0,
    encoder: MultilingualEncoder | None = None,
) -> Manifest:
    encoder = encoder or MultilingualEncoder(threads=2, cache_size=50_000)
    russian_texts = [e.text for e in russian_train + russian_dev]
    translit = translit or TranslitCorpus([e.text for e in english], russian_texts, russian_texts, [])
    english = stratified_slice(english, english_per_intent, seed)
    labels = sorted({e.intent for e in english + russian_train})
    unknown = sorted({e.intent for e in russian_dev} - set(labels))
    if unknown:
        raise ValueError(f"Russian dev messages name intents with no training message: {unknown[:10]}")
    log.info("training Russian intents", extra={"english": len(english), "russian": len(russian_train)})
    train = english + russian_train
    weights = np.array([1.0] * len(english) + [russian_weight] * len(russian_train))
    head = _fit(encoder, train, weights, labels, c)
    dev_x = encoder.encode([e.text for e in russian_dev])
    dev_y = np.array([labels.index(e.intent) for e in russian_dev])
    # Without dev messages the threshold cannot be tuned: nothing is answered, every message is unsure.
    dev_logits = head.decision_function(dev_x) if russian_dev else np.zeros((0, len(labels)))
    temperature = fit_temperature(dev_logits, dev_y) if russian_dev else 1.0
    dev_probabilities = softmax(dev_logits / temperature)
    metrics = {
        "dev_accuracy": float((dev_probabilities.argmax(1) == dev_y).mean()) if len(dev_y) else 0.0,
        "dev_log_loss": mean_log_loss(dev_probabilities, dev_y) if len(dev_y) else 0.0,
    }
    if russian_dev:  # refit with the dev messages too; the threshold stays tuned on honest dev scores
        train += russian_dev
        weights = np.concatenate([weights, np.full(len(russian_dev), russian_weight)])
        head = _fit(encoder, train, weights, labels, c)
    with new_version(out_dir) as work:
        metrics |= train_translit_reader(translit, work, seed)
        np.savez(
            work / HEAD,
            weights=head.coef_.T.astype(np.float32),
            bias=head.intercept_.astype(np.float32),
        )
        np.savez(work / DEV_PROBABILITIES, probabilities=dev_probabilities.astype(np.float32), labels=dev_y)
        return write_manifest(
            work,
            Manifest(
                kind=KIND,
                seed=seed,
                data_hash=data_hash(train + russian_dev),
                data_sizes={"english": len(english), "russian": len(russian_train), "dev": len(russian_dev)},
                labels=labels,
                params={
                    "temperature": float(temperature),
                    "english_per_intent": float(english_per_intent),
                    "russian_weight": russian_weight,
                    "c": c,
                },
                metrics=metrics,
                depends_on=E5_DEPENDENCY,
            ),
        )


def _fit(
    encoder: MultilingualEncoder, examples: list[Example], weights: np.ndarray, labels: list[str], c: float
) -> LogisticRegression:
    x = encoder.encode([e.text for e in examples])
    y = np.array([labels.index(e.intent) for e in examples])
    head = LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=weights)
    if list(head.classes_) != list(range(len(labels))):
        raise ValueError("every intent needs a training message")
    return head
