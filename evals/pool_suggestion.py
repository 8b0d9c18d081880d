"""Suggest pools from the classifier's confusion: intents it mixes up belong together.

Soft confusion on the dev split (the probability mass each intent's messages give to every
other intent), symmetrised, then average-linkage clustering into N groups. The output is a
starting point for `pools.yaml`, which stays hand-edited (questions, names, small fixes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from first_line.artifacts import load_manifest
from first_line.intent_training import DEV_PROBABILITIES


def soft_confusion(probabilities: np.ndarray, labels: np.ndarray, n_intents: int) -> np.ndarray:
    """confusion[i, j]: mean probability that messages of intent i give to intent j."""
    confusion = np.zeros((n_intents, n_intents))
    for intent in range(n_intents):
        mine = labels == intent
        if mine.any():
            confusion[intent] = probabilities[mine].mean(0)
    return confusion


def suggest_groups(
    probabilities: np.ndarray, labels: np.ndarray, intents: list[str], clusters: int
) -> list[list[str]]:
    confusion = soft_confusion(probabilities, labels, len(intents))
    affinity = confusion + confusion.T
    np.fill_diagonal(affinity, 0.0)
    distance = 1.0 - affinity / max(float(affinity.max()), 1e-9)
    np.fill_diagonal(distance, 0.0)
    assignment = fcluster(linkage(squareform(distance, checks=False), method="average"), clusters, "maxclust")
    groups: dict[int, list[str]] = {}
    for intent, group in zip(intents, assignment, strict=True):
        groups.setdefault(int(group), []).append(intent)
    return sorted(groups.values(), key=lambda g: (-len(g), g))


def suggest_pools_yaml(intents_dir: Path, clusters: int) -> str:
    manifest = load_manifest(intents_dir, "intents")
    dev = np.load(intents_dir / DEV_PROBABILITIES)
    groups = suggest_groups(dev["probabilities"], dev["labels"], manifest.labels, clusters)
    pools = {
        f"pool_{n + 1}": {"intents": group, "question": {"en": "TODO", "ru": "TODO"}}
        for n, group in enumerate(groups)
    }
    header = "# Suggested from the dev-split confusion of the intent classifier; edit names and questions.\n"
    return header + yaml.safe_dump({"pools": pools}, allow_unicode=True, sort_keys=False, width=120)
