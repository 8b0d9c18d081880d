"""A text's embedding as the censor reads it: each sentence embedded alone, and a text of several sentences
as the length-weighted mean of its sentences' embeddings (no second encoder pass over the whole text: E5
costs ~1 ms a token on one core). Training embeds its rows the same way, so the heads learn the vectors
the censor serves them (before session 38 a multi-sentence row, a Wikipedia comment, was embedded whole
in training and pooled in serving).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from guardrails.text import Span, model_text, split_sentences

Encode = Callable[[list[str]], np.ndarray]
POOLED_ROWS = "pooled_rows"
"""The manifest parameter (1.0) of a censor trained on rows embedded this way: an older one is retrained."""


def pooled(embeddings: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The length-weighted mean of sentence embeddings, unit length, shape (1, dimension)."""
    mean = (embeddings * weights[:, None]).sum(axis=0, keepdims=True)
    return mean / np.linalg.norm(mean)


def sentence_weights(spans: list[Span]) -> np.ndarray:
    return np.array([len(s.text) for s in spans], dtype=np.float32)


def embed_as_read(encode: Encode, texts: list[str]) -> np.ndarray:
    """The censor's embedding of each raw text (`encode` takes model texts): a text of one sentence (or
    none the splitter finds) is embedded as it is, a longer one pooled from its sentences. Each distinct
    model text is encoded once."""
    splits = [split_sentences(text) for text in texts]
    pieces = [
        [model_text(s.text) for s in spans] if len(spans) > 1 else [model_text(text)]
        for text, spans in zip(texts, splits, strict=True)
    ]
    distinct = list(dict.fromkeys(piece for parts in pieces for piece in parts))
    if not distinct:
        return np.zeros((0, 0), dtype=np.float32)
    by_text = dict(zip(distinct, encode(distinct), strict=True))
    rows = [
        by_text[parts[0]] if len(parts) == 1 else _pooled_row([by_text[p] for p in parts], spans)
        for parts, spans in zip(pieces, splits, strict=True)
    ]
    return np.stack(rows).astype(np.float32)


def _pooled_row(embeddings: list[np.ndarray], spans: list[Span]) -> np.ndarray:
    return pooled(np.stack(embeddings), sentence_weights(spans))[0]
