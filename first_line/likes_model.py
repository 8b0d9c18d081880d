"""The likes model: P(the client will dislike this bot answer), scored before the answer is sent.

Input: the client message, its recent context (the client's earlier messages, as the intent
classifier sees them) and the candidate answer. All three are embedded with the intent
classifier's own MiniLM encoder (cached: the message was just embedded for the intent, and a
bank has a few hundred scripted answers), and a logistic regression reads
[m·a, |m−a|, m, a, cos(m, a), cos(context, a)] (m: message, a: answer). Above
`policy.dislike_threshold` the policy hands the dialog to an operator (`predicted_dislike`).
Trained by `twoline train likes` (`first_line/likes_training.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from first_line.artifacts import load_manifest
from first_line.text_encoder import TextEncoder

KIND = "likes"
HEAD = "head.npz"


def pair_features(encoder: TextEncoder, texts: Sequence[str], contexts: Sequence[Sequence[str]],
                  answers: Sequence[str]) -> np.ndarray:  # fmt: skip
    """The feature rows of (message, context, answer) triples (see the module docstring)."""
    messages = encoder.encode(list(texts))
    replies = encoder.encode(list(answers))
    dimension = messages.shape[1]
    flat = [t for context in contexts for t in context]
    embedded = encoder.encode(flat) if flat else np.zeros((0, dimension), dtype=np.float32)
    context_vectors = np.zeros_like(messages)
    start = 0
    for row, context in enumerate(contexts):
        if context:
            mean = embedded[start : start + len(context)].mean(axis=0)
            context_vectors[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            start += len(context)
    similarity = np.sum(messages * replies, axis=1, keepdims=True)
    context_similarity = np.sum(context_vectors * replies, axis=1, keepdims=True)
    return np.hstack(
        [messages * replies, np.abs(messages - replies), messages, replies, similarity, context_similarity]
    ).astype(np.float32)


class LikesModel:
    def __init__(self, artifact_dir: Path | str, encoder: TextEncoder) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.manifest = load_manifest(self.artifact_dir, kind=KIND)
        self.encoder = encoder
        head = np.load(self.artifact_dir / HEAD)
        self._weights, self._bias = head["weights"], float(head["bias"])

    @property
    def version(self) -> str:
        return self.manifest.data_hash[:12]

    def warm_up(self, answers: Sequence[str]) -> None:
        """Pin the answers the bot can give in the encoder at start-up (embedded one at a time, as at
        run time), so that a turn only embeds the client's message."""
        self.encoder.pin(list(answers))

    def p_dislike(self, text: str, context: Sequence[str], answer: str) -> float:
        return float(self.probabilities([text], [list(context)], [answer])[0])

    def probabilities(
        self, texts: Sequence[str], contexts: Sequence[Sequence[str]], answers: Sequence[str]
    ) -> np.ndarray:
        logits = pair_features(self.encoder, texts, contexts, answers) @ self._weights + self._bias
        return 1.0 / (1.0 + np.exp(-logits))
