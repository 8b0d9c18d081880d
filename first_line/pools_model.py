"""The pools model: which group of similar intents a message belongs to, when the intent is unsure.

A linear head over the same [message, context] embeddings as the intent classifier, trained on
pool labels (intent → its pool in `pools.yaml`), temperature-scaled on the dev split. Pools
are coarser than intents, so the model is often sure of the pool when it is not sure of the
intent: then the bot asks the pool's clarifying question with the likely intents as buttons.

The artifact records the intent → pool mapping it was trained on; if `pools.yaml` changes,
the model is stale and the service asks for `twoline train pools` (about a minute).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from first_line.artifacts import ArtifactError, Manifest, load_manifest, new_version, write_manifest
from first_line.intent_model import context_features, intent_encoder_dependency, softmax
from first_line.intent_training import augment_with_context, fit_temperature
from first_line.linear_head import class_logits, class_weights
from first_line.text_encoder import TextEncoder
from first_line.training_data import Splits, data_hash

POOL_MAP = "pools.json"


@dataclass(frozen=True)
class PoolPrediction:
    pool: str
    confidence: float


class PoolsModel:
    def __init__(self, artifact_dir: Path | str, encoder: TextEncoder, pool_of_intent: dict[str, str]):
        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind="pools")
        trained_on = json.loads((self.artifact_dir / POOL_MAP).read_text(encoding="utf-8"))
        if trained_on != pool_of_intent:
            changed = sorted(
                i for i in set(trained_on) | set(pool_of_intent) if trained_on.get(i) != pool_of_intent.get(i)
            )
            raise ArtifactError(
                f"{self.artifact_dir}: pools.yaml changed since the pools model was trained "
                f"(intents {changed[:5]}); run `twoline train pools`"
            )
        self.encoder = encoder
        self.pools: list[str] = list(self.manifest.labels)
        head = np.load(self.artifact_dir / "head.npz")
        self._weights, self._bias = head["weights"], head["bias"]

    def predict(self, text: str, context: list[str] | None = None) -> PoolPrediction:
        row = self.probabilities([text], [context or []])[0]
        best = int(row.argmax())
        return PoolPrediction(self.pools[best], float(row[best]))

    def probabilities(self, texts: list[str], contexts: list[list[str]]) -> np.ndarray:
        features = context_features(self.encoder, texts, contexts)
        return softmax((features @ self._weights.T + self._bias) / self.manifest.params["temperature"])


def train_pools_model(
    splits: Splits,
    encoder: TextEncoder,
    pool_of_intent: dict[str, str],
    out_dir: Path,
    intents_manifest: Manifest,
    seed: int = 13,
    context_share: float = 0.3,
) -> Manifest:
    train = [e for e in splits.train if e.intent in pool_of_intent]
    texts, contexts, intents = augment_with_context(train, context_share, seed)
    head = LogisticRegression(C=20.0, max_iter=2000).fit(
        context_features(encoder, texts, contexts), [pool_of_intent[i] for i in intents]
    )
    dev = [e for e in splits.dev if e.intent in pool_of_intent]
    dev_logits = class_logits(head, context_features(encoder, [e.text for e in dev], [[] for _ in dev]))
    dev_labels = np.array([list(head.classes_).index(pool_of_intent[e.intent]) for e in dev])
    temperature = fit_temperature(dev_logits, dev_labels)
    test = [e for e in splits.test if e.intent in pool_of_intent]
    test_logits = class_logits(head, context_features(encoder, [e.text for e in test], [[] for _ in test]))
    test_labels = np.array([list(head.classes_).index(pool_of_intent[e.intent]) for e in test])

    with new_version(out_dir) as work:
        weights, bias = class_weights(head)
        np.savez(work / "head.npz", weights=weights.astype(np.float32), bias=bias.astype(np.float32))
        (work / POOL_MAP).write_text(json.dumps(pool_of_intent, indent=1, sort_keys=True), encoding="utf-8")
        manifest = write_manifest(
            work,
            Manifest(
                kind="pools",
                seed=seed,
                data_hash=data_hash(splits.train + splits.dev + splits.test),
                data_sizes={"train": len(train), "dev": len(dev), "test": len(test)},
                labels=[str(c) for c in head.classes_],
                params={"temperature": temperature},
                metrics={"test_accuracy": float((test_logits.argmax(1) == test_labels).mean())},
                depends_on=intent_encoder_dependency(intents_manifest),
            ),
        )
        return manifest
