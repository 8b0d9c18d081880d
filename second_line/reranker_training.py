"""`twoline train reranker`: the learned reranker, trained on queries made from the knowledge base itself.

No customer question is used for training (the paraphrase dev/test sets in evals/data stay unseen).
Training queries are the documents' own titles (for Ask CFPB: the article question). A title is a
near copy of the text its own document embeds and indexes, so each query is run against the index
with its own document's title taken out ("leave-own-title-out"): the document's chunks are scored
on their text alone (re-embedded without the title, and scored by a BM25 index of the texts alone),
while every other document keeps its title, as at serving time. The model thus learns how dense and
BM25 evidence separate the answering document from title-matched near misses, the hard case of
paraphrased questions. Titles shared by several documents (the same question under two topics) are
dropped. A share of the documents (`dev_share`) is held out to measure the reranker against dense,
BM25 and the RRF fusion on those title queries (the manifest's metrics); the model is then fitted
on all queries.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from first_line.artifacts import Manifest, new_version, write_manifest
from knowledge_base.index_store import has_own_title
from second_line.ranking_features import FEATURES, MONOTONE, Candidates, candidate_features
from second_line.reranker import KIND, MODEL
from second_line.retrieval import HybridRetriever, bm25_tokens

log = logging.getLogger("twoline.train")


@dataclass
class TrainingQuery:
    text: str
    doc: int
    """The answering document's number."""


@dataclass
class QueryCandidates:
    query: TrainingQuery
    candidates: Candidates
    labels: np.ndarray


def title_queries(retriever: HybridRetriever) -> list[TrainingQuery]:
    """One query per document with a title of its own (not its id), titles shared by several dropped."""
    titles: dict[int, str] = {}
    for chunk, doc in zip(retriever.index.chunks, retriever._chunk_doc.tolist(), strict=True):
        if has_own_title(chunk):
            titles.setdefault(doc, chunk.title.strip())
    counts = Counter(t.lower() for t in titles.values())
    return [TrainingQuery(t, d) for d, t in sorted(titles.items()) if counts[t.lower()] == 1]


def text_only_scores(retriever: HybridRetriever, docs: set[int]) -> tuple[np.ndarray, object]:
    """The chunks of `docs` embedded without their titles (other rows zero), and a BM25 index of every
    chunk's text without its title."""
    import bm25s

    chunks = retriever.index.chunks
    rows = [r for r, d in enumerate(retriever._chunk_doc.tolist()) if d in docs]
    vectors = np.zeros_like(retriever._vectors)
    vectors[rows] = retriever.encoder.encode([chunks[r].text for r in rows], progress=True)
    bm25 = bm25s.BM25()
    bm25.index(bm25_tokens([c.text for c in chunks]), show_progress=False)
    return vectors, bm25


def build_candidates(
    retriever: HybridRetriever, queries: list[TrainingQuery], depth: int
) -> list[QueryCandidates]:
    """Each query's candidates and features, its own document scored without its title."""
    text_vectors, text_bm25 = text_only_scores(retriever, {q.doc for q in queries})
    query_vectors = retriever.encoder.encode([q.text for q in queries])
    chunk_doc = retriever._chunk_doc
    out = []
    for query, vector in zip(queries, query_vectors, strict=True):
        dense, lexical, titles, terms = retriever.chunk_scores(query.text, vector)
        own = chunk_doc == query.doc
        dense[own] = text_vectors[own] @ vector
        titles[query.doc] = -1.0  # its own title is the query
        tokens = bm25_tokens([query.text])[0]
        if tokens:
            lexical[own] = np.asarray(text_bm25.get_scores(tokens), dtype=np.float32)[own]
        candidates = candidate_features(
            dense, lexical, chunk_doc, retriever._n_docs, terms,
            depth, retriever.rrf_k, retriever.dense_weight, titles,
        )  # fmt: skip
        labels = (candidates.docs == query.doc).astype(np.int32)
        if labels.any():
            out.append(QueryCandidates(query, candidates, labels))
    return out


def _ranker(seed: int):
    from lightgbm import LGBMRanker

    return LGBMRanker(
        objective="lambdarank", n_estimators=200, learning_rate=0.05, num_leaves=15,
        min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
        monotone_constraints=list(MONOTONE), random_state=seed, n_jobs=2, verbose=-1,
    )  # fmt: skip


def fit(groups: list[QueryCandidates], seed: int):
    x = np.vstack([g.candidates.features for g in groups])
    y = np.concatenate([g.labels for g in groups])
    return _ranker(seed).fit(x, y, group=[len(g.labels) for g in groups])


def ranking_metrics(groups: list[QueryCandidates], score) -> dict[str, float]:
    """recall@1/5 and MRR of the answering document when the candidates are ordered by `score`."""
    ranks = []
    for group in groups:
        values = np.asarray(score(group.candidates), dtype=np.float64)
        order = np.argsort(-values, kind="stable")
        ranks.append(int(np.flatnonzero(group.labels[order])[0]) + 1)
    ranks_arr = np.array(ranks)
    return {
        "recall@1": round(float(np.mean(ranks_arr <= 1)), 4),
        "recall@5": round(float(np.mean(ranks_arr <= 5)), 4),
        "mrr": round(float(np.mean(1.0 / ranks_arr)), 4),
    }


BASELINES = {
    "dense": lambda c: c.features[:, FEATURES.index("dense")],
    "bm25": lambda c: c.features[:, FEATURES.index("bm25")],
    "fused": lambda c: c.features[:, FEATURES.index("rrf")],
}


def data_hash(retriever: HybridRetriever, queries: list[TrainingQuery]) -> str:
    digest = hashlib.sha256(retriever.index.manifest.data_hash.encode())
    for query in queries:
        digest.update(f"{query.doc}\t{query.text}\n".encode())
    return digest.hexdigest()[:16]


def train_reranker(
    retriever: HybridRetriever,
    out_dir: Path,
    seed: int = 13,
    depth: int = 20,
    dev_share: float = 0.2,
    max_queries: int | None = None,
) -> Manifest:
    """Train on the index behind `retriever` (its encoder, chunks, fusion settings) into `out_dir`."""
    started = time.perf_counter()
    retriever.warm_up()
    queries = title_queries(retriever)
    if len(queries) < 10:
        raise ValueError(f"{len(queries)} titled documents in the index: too few to train a reranker (≥ 10)")
    random.Random(seed).shuffle(queries)
    queries = queries[:max_queries] if max_queries else queries
    log.info("building reranker training data", extra={"queries": len(queries)})
    groups = build_candidates(retriever, queries, depth)
    cut = max(1, int(len(groups) * dev_share))
    dev, train = groups[:cut], groups[cut:]
    metrics: dict[str, float] = {}
    held_out = fit(train, seed)
    for name, score in BASELINES.items() | {"reranker": lambda c: held_out.predict(c.features)}.items():
        metrics |= {f"kb_dev_{name}_{k}": v for k, v in ranking_metrics(dev, score).items()}
    model = fit(groups, seed)
    with new_version(out_dir) as work:
        model.booster_.save_model(str(work / MODEL))
        manifest = Manifest(
            kind=KIND,
            seed=seed,
            data_hash=data_hash(retriever, queries),
            data_sizes={
                "queries": len(groups),
                "kb_dev_queries": len(dev),
                "rows": sum(len(g.labels) for g in groups),
            },
            labels=list(FEATURES),
            params={
                "depth": depth,
                "dev_share": dev_share,
                "rrf_k": retriever.rrf_k,
                "dense_weight": retriever.dense_weight,
                "train_seconds": round(time.perf_counter() - started, 1),
            },
            metrics=metrics,
            depends_on={
                "encoder": retriever.encoder.model_id,
                "knowledge_base": retriever.index.manifest.data_hash,
            },
        )
        manifest = write_manifest(work, manifest)
    return manifest
