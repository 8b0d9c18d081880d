"""Per-document features for the learned reranker, from the dense and BM25 scores of every chunk.

One function serves training and retrieval alike, so both see the same features. Input: a score for
every chunk (dense cosine, BM25) and the chunk → document map; output: the candidate documents
(the union of the `depth` best documents of each list) and one feature row per candidate.
Computing every chunk's scores is cheap at this size (1,879 chunks: a 384-wide dot product per chunk
and a sparse BM25 pass, well under a millisecond); at 10^6 chunks take the top-k of each list from the
ANN index and BM25 instead, and reconstruct the few missing dense scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES = (
    "dense",
    "dense_gap",
    "dense_log_rank",
    "dense_second_chunk",
    "bm25",
    "bm25_ratio",
    "bm25_log_rank",
    "rrf",
    "query_terms",
)
"""The feature columns, in order (recorded in the reranker's manifest; a mismatch is refused)."""

MONOTONE = (1, -1, -1, 1, 1, 1, -1, 1, 0)
"""LightGBM monotone constraints per feature: a higher score (or a better rank) never ranks lower."""


@dataclass
class Candidates:
    docs: np.ndarray
    """Candidate document numbers (positions in the document list), shape (m,)."""
    features: np.ndarray
    """(m, len(FEATURES)) float32."""
    best_chunk: np.ndarray
    """Each candidate's best chunk row (dense first, BM25 when dense has no score for it)."""


def doc_max(scores: np.ndarray, chunk_doc: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per document: the best chunk score and the second best (-1 when it has one chunk)."""
    order = np.lexsort((-scores, chunk_doc))  # by document, best chunk first
    docs_sorted = chunk_doc[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = docs_sorted[1:] != docs_sorted[:-1]
    best = np.full(n_docs, -np.inf, dtype=np.float32)
    best[docs_sorted[first]] = scores[order[first]]
    second_mask = np.zeros(len(order), dtype=bool)
    second_mask[1:] = first[:-1] & ~first[1:]
    second = np.full(n_docs, -1.0, dtype=np.float32)
    second[docs_sorted[second_mask]] = scores[order[second_mask]]
    return best, second


def best_rows(scores: np.ndarray, chunk_doc: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document: the row of its best chunk under `scores`."""
    order = np.lexsort((-scores, chunk_doc))
    docs_sorted = chunk_doc[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = docs_sorted[1:] != docs_sorted[:-1]
    rows = np.full(n_docs, -1, dtype=np.int64)
    rows[docs_sorted[first]] = order[first]
    return rows


def ranks(doc_scores: np.ndarray) -> np.ndarray:
    """1-based rank of each document under its score (ties broken by position)."""
    order = np.argsort(-doc_scores, kind="stable")
    out = np.empty(len(doc_scores), dtype=np.int64)
    out[order] = np.arange(1, len(doc_scores) + 1)
    return out


def candidate_features(
    dense: np.ndarray,
    bm25: np.ndarray,
    chunk_doc: np.ndarray,
    n_docs: int,
    query_terms: int,
    depth: int = 20,
    rrf_k: int = 1,
    dense_weight: float = 3.0,
    titles: np.ndarray | None = None,
) -> Candidates:
    """The candidates (top `depth` documents of each list) and their features. A document's dense
    score is the best of its chunks' cosines and, when `titles` (one cosine per document) is given,
    its title's."""
    dense_doc, dense_second = doc_max(dense, chunk_doc, n_docs)
    if titles is not None:
        dense_doc = np.maximum(dense_doc, titles)
    bm25_doc, _ = doc_max(bm25, chunk_doc, n_docs)
    dense_rank, bm25_rank = ranks(dense_doc), ranks(bm25_doc)
    has_bm25 = bm25_doc > 0
    picked = (dense_rank <= depth) | ((bm25_rank <= depth) & has_bm25)
    docs = np.flatnonzero(picked)
    top_dense = float(dense_doc.max())
    top_bm25 = float(bm25_doc.max()) if has_bm25.any() else 0.0
    bm25_rank_eff = np.where(has_bm25, bm25_rank, n_docs)
    rrf = dense_weight / (rrf_k + dense_rank) + has_bm25 / (rrf_k + bm25_rank_eff)
    features = np.column_stack(
        [
            dense_doc[docs],
            top_dense - dense_doc[docs],
            np.log(dense_rank[docs]),
            dense_second[docs],
            bm25_doc[docs],
            bm25_doc[docs] / top_bm25 if top_bm25 > 0 else np.zeros(len(docs)),
            np.log(bm25_rank_eff[docs]),
            rrf[docs],
            np.full(len(docs), query_terms),
        ]
    ).astype(np.float32)
    rows = best_rows(dense, chunk_doc, n_docs)[docs]
    return Candidates(docs=docs, features=features, best_chunk=rows)
