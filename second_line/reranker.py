"""The learned reranker: a LightGBM LambdaRank model over the dense and BM25 evidence of each document.

`twoline train reranker` fits it (second_line/reranker_training.py) into `<artifacts>/reranker`; the
retriever uses it when that folder exists (setting `reranker`). Features: second_line/ranking_features.py.
A reranker trained with another encoder or other features is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from first_line.artifacts import ArtifactError, Manifest, load_manifest
from second_line.ranking_features import FEATURES, Candidates

KIND = "reranker"
MODEL = "ranker.txt"


class LearnedReranker:
    """Light `__init__`; `warm_up()` loads and checks the model; `scores(candidates)` ranks."""

    def __init__(self, folder: Path, encoder_id: str | None = None) -> None:
        self.folder = folder
        self.encoder_id = encoder_id
        self.manifest: Manifest | None = None
        self._booster = None

    @property
    def depth(self) -> int:
        return int(self.manifest.params["depth"]) if self.manifest else 20

    def warm_up(self) -> None:
        if self._booster is not None:
            return
        import lightgbm

        manifest = load_manifest(self.folder, KIND)
        fix = f"retrain with `twoline train {KIND}`"
        trained_with = manifest.depends_on.get("encoder")
        if self.encoder_id is not None and trained_with != self.encoder_id:
            raise ArtifactError(
                f"{self.folder}: trained on scores of encoder {trained_with!r}, the index uses "
                f"{self.encoder_id!r}; {fix}"
            )
        if tuple(manifest.labels) != FEATURES:
            raise ArtifactError(
                f"{self.folder}: trained on features {manifest.labels}, expected {FEATURES}; {fix}"
            )
        self._booster = lightgbm.Booster(model_file=str(self.folder / MODEL))
        self.manifest = manifest

    def scores(self, candidates: Candidates) -> np.ndarray:
        self.warm_up()
        if len(candidates.docs) == 0:
            return np.zeros(0, dtype=np.float32)
        return self._booster.predict(candidates.features, num_threads=1)
