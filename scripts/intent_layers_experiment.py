"""Experiment (session 47, not shipped): the intent head reading several MiniLM layers, not the last one.

Exports the packaged MiniLM to int8 ONNX as the served encoder is exported (`export_encoder`), with one
output: the mean-pooled layers given, each normalised, side by side. Then runs the shipped recipe on it
(five out-of-fold calibration folds, `fit_ensemble`, the heads refitted on train + dev, the held-out
metrics); the neighbour view keeps the last layer, as served.
`--encoder artifacts/intents` (the shipped encoder) reproduces `twoline eval intents` (93.87%).
Findings: docs/measurements.md, session 47.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/intent_layers_experiment.py --layers 4,5,6   # ~6 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from first_line import intent_training  # noqa: E402
from first_line.encoder_training import base_encoder_path, export_encoder  # noqa: E402
from first_line.neighbour_scorer import NeighbourScorer  # noqa: E402
from first_line.text_encoder import TextEncoder  # noqa: E402
from first_line.training_pipeline import load_splits  # noqa: E402

HIDDEN = 384


class LayerPooledEncoder(torch.nn.Module):
    def __init__(self, transformer: torch.nn.Module, layers: list[int]) -> None:
        super().__init__()
        self.transformer, self.layers = transformer, layers

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
        mask = attention_mask.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
        pooled = [(hidden.hidden_states[k] * mask).sum(1) / mask.sum(1).clamp(min=1e-9) for k in self.layers]
        return torch.cat([torch.nn.functional.normalize(p, dim=-1) for p in pooled], -1) / len(pooled) ** 0.5


def export_layers(layers: list[int], out_dir: Path) -> None:
    export_encoder(base_encoder_path(), out_dir, pooling=lambda model: LayerPooledEncoder(model, layers))


def last_layer(features: np.ndarray) -> np.ndarray:
    """The last `HIDDEN` numbers (the last layer's block), unit length: what the neighbours read."""
    block = np.asarray(features)[:, -HIDDEN:]
    return (block / np.linalg.norm(block, axis=1, keepdims=True)).astype(np.float32)


def neighbours_on_last_layer() -> None:
    save, best = intent_training.save_neighbours, NeighbourScorer.best_similarities
    intent_training.save_neighbours = lambda path, embeddings, labels: save(
        path, last_layer(embeddings), labels
    )
    NeighbourScorer.best_similarities = lambda self, features: best(self, last_layer(features))


def run_recipe(encoder: TextEncoder, work: Path) -> dict[str, float]:
    splits = load_splits(REPO.parent / "shared" / "data", REPO / "domains" / "demo_bank")
    labels = sorted({e.intent for e in splits.train})
    examples = splits.train + [e for e in splits.dev if e.intent in labels]
    config = intent_training.IntentTrainingConfig()
    scores, y = intent_training._out_of_fold_scores(encoder, examples, labels, config, work, 5)
    ensemble = intent_training.fit_ensemble(*scores, y)
    out_of_fold = intent_training._combine(scores, ensemble).argmax(1) == y
    heads = intent_training._fit_heads(encoder, examples, labels, config, work)
    metrics = intent_training._test_metrics(encoder, *heads, splits, labels, ensemble)
    return (
        ensemble
        | metrics
        | {
            "out_of_fold_accuracy": float(out_of_fold.mean()),
            "out_of_fold_accuracy_head_only": float((scores[0].argmax(1) == y).mean()),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="4,5,6", help="MiniLM layers (1-6), comma-separated")
    parser.add_argument("--encoder", type=Path, help="an existing encoder folder instead of an export")
    args = parser.parse_args()
    layers = [int(k) for k in args.layers.split(",")]
    with tempfile.TemporaryDirectory(prefix="intent-layers-") as tmp:
        work, encoder_dir = Path(tmp) / "work", args.encoder or Path(tmp) / "encoder"
        work.mkdir()
        if args.encoder is None:
            encoder_dir.mkdir()
            export_layers(layers, encoder_dir)
        neighbours_on_last_layer()
        encoder = TextEncoder(encoder_dir, threads=2, cache_size=50_000, batch_size=1)
        print(json.dumps({"layers": layers} | run_recipe(encoder, work), indent=2))


if __name__ == "__main__":
    main()
