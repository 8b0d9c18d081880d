"""Intents of Russian messages: a linear head over multilingual E5 embeddings.

The intent classifier (`intent_model.py`) reads MiniLM, which knows English only: a Russian message read
as English got `out_of_scope` with high confidence ("Заблокируйте мою карту, её украли" was told the bot
helps only with bank questions). Russian messages (`language.looks_russian`) go to this model instead:

    probabilities = softmax((W · e5(message) + b) / T)

trained by `first_line/russian_intent_training.py` on the English training messages (E5 maps English and
Russian into one space, so they teach the Russian reading too) plus the domain's Russian messages and
intent labels; `T` is fitted on the domain's Russian dev messages, whose probabilities the artifact keeps
for the threshold (one threshold for every intent at the domain's target precision: a few dev messages
an intent carry no per-intent evidence). The dialog context is not read (the Russian data has none).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from first_line.artifacts import ArtifactError, Manifest, load_manifest
from first_line.e5_graph import reads_this_e5
from first_line.intent_model import IntentPrediction, softmax
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.thresholds import Thresholds, global_only, tune_thresholds

KIND = "russian_intents"
HEAD = "head.npz"
DEV_PROBABILITIES = "dev_probabilities.npz"


class RussianIntentModel:
    def __init__(self, artifact_dir: Path | str, encoder: MultilingualEncoder | None = None) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.manifest: Manifest = load_manifest(self.artifact_dir, kind=KIND, trained_by="intents")
        if not reads_this_e5(self.manifest.depends_on):
            raise ArtifactError(
                f"{self.artifact_dir}: trained on another E5 graph; run `twoline train intents`"
            )
        self.encoder = encoder or MultilingualEncoder()
        head = np.load(self.artifact_dir / HEAD)
        self._weights, self._bias = head["weights"], head["bias"]
        self._temperature = float(self.manifest.params["temperature"])
        self.intents: list[str] = list(self.manifest.labels)

    def warm_up(self) -> None:
        self.encoder.warm_up()
        self.predict("Здравствуйте")

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Calibrated probabilities (n, intents), in `self.intents` order."""
        logits = self.encoder.encode(texts) @ self._weights + self._bias
        return softmax(logits / self._temperature)

    def predict(self, text: str, context: list[str] | None = None) -> IntentPrediction:
        """The intents of one message, best first; `context` is accepted and not read (see the module)."""
        probabilities = self.probabilities([text])[0]
        order = np.argsort(-probabilities, kind="stable")
        return IntentPrediction([self.intents[i] for i in order], probabilities[order])

    def thresholds(self, target_precision: float, overrides: dict[str, float] | None = None) -> Thresholds:
        """One threshold for every intent, the lowest at which the answered dev messages reach the target
        precision; the domain's manual overrides win, as for English."""
        dev = np.load(self.artifact_dir / DEV_PROBABILITIES)
        tuned = tune_thresholds(dev["probabilities"], dev["labels"], self.intents, target_precision, 1.0)
        one = global_only(tuned)
        per_intent = one.per_intent | {i: t for i, t in (overrides or {}).items() if i in one.per_intent}
        return one.model_copy(update={"per_intent": per_intent})
