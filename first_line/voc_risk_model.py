"""The VOC-risk model: LightGBM over a client's store features → P(their next satisfaction score is low).

Trained by `twoline train risk` (router/voc_risk/training.py), used by the daily batch
`twoline risk score` (router/voc_risk/batch.py); the router itself only reads the scores table.
The artifact holds the booster (`model.txt`) and the feature names it expects, in order.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from first_line.artifacts import ArtifactError, load_manifest

KIND = "risk"
BOOSTER = "model.txt"
FEATURE_LIST = "features.json"


class VocRiskModel:
    def __init__(self, artifact_dir: Path | str, expected_features: list[str] | None = None) -> None:
        import lightgbm

        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind=KIND)
        self.features: list[str] = json.loads((self.artifact_dir / FEATURE_LIST).read_text(encoding="utf-8"))
        if expected_features is not None and self.features != expected_features:
            raise ArtifactError(
                f"{self.artifact_dir}: trained on other features than this code computes; "
                "run `twoline train risk`"
            )
        self._booster = lightgbm.Booster(model_file=str(self.artifact_dir / BOOSTER))

    @property
    def version(self) -> str:
        return self.manifest.data_hash[:12]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(low VOC) for each row of `features` (columns by name, any order)."""
        if features.empty:
            return np.zeros(0)
        return np.asarray(self._booster.predict(features[self.features].to_numpy(dtype=np.float64)))
