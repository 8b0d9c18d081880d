"""Hybrid retrieval over the knowledge-base index: dense (FAISS) + lexical (BM25), fused with RRF,
then (when trained) reranked by a learned model over both retrievers' evidence (second_line/reranker.py).

The dense side that enters the fusion scores each document by the best of its vectors: its chunks
(title + text) and its title alone (`dense_titles`). A customer question is a paraphrase of an
article's question far more than of its answer; in a chunk vector the title is diluted by ~200
tokens of answer, the title vector matches it undiluted. Taking the maximum needs no weight.

Dense finds paraphrases ("contest a purchase" ↔ "dispute a charge"); BM25 finds rare exact words
(product names, form numbers). Reciprocal rank fusion adds 1/(k + rank) from each list, which
needs no score calibration between the two. The relevance floor uses the dense cosine of the
best passages, the one score with a meaning across questions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge_base.chunking import ChunkingSettings
from knowledge_base.encoder import PassageEncoder
from knowledge_base.index_store import KnowledgeIndex, build_faiss, load_index
from second_line.ranking_features import candidate_features
from second_line.reranker import LearnedReranker
from second_line.types import Passage

log = logging.getLogger("twoline.second_line")


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    from nltk.stem.porter import PorterStemmer

    return _porter(PorterStemmer)(word)


@lru_cache(maxsize=1)
def _porter(cls):
    return cls().stem


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """Lower-cased words, English stop words removed, Porter-stemmed (no data files needed)."""
    import bm25s

    tokens = bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)
    return [[_stem(w) for w in words] for words in tokens]


@dataclass
class Ranked:
    """One retriever's ranking: chunk rows, best first, with that retriever's scores."""

    rows: list[int]
    scores: list[float]


@dataclass
class RetrievalResult:
    passages: list[Passage]
    best_cosine: float
    """The highest dense cosine among the returned passages (what the relevance floor reads)."""
    dense: Ranked
    bm25: Ranked
    fused: Ranked
    latency_ms: float
    dense_titles: Ranked | None = None
    """Documents by the best cosine of their chunk and title vectors (what the fusion takes)."""
    reranked: Ranked | None = None
    """The learned reranker's order (what `passages` follow) when one is loaded."""


def reciprocal_rank_fusion(
    rankings: list[tuple[Ranked, float]], doc_ids: list[str], k: int, limit: int
) -> Ranked:
    """Per document: Σ weight / (k + rank of the document in that list); each document is
    represented by its best chunk of the first ranking that has it (dense first).

    Fusing documents, not chunks, lets a document found by both lists through different chunks
    count twice; with a weight > 1 on the dense list, BM25 reorders close calls and rescues
    documents that dense misses, without pushing dense's clear winners down.
    """
    scores: dict[str, float] = {}
    best_row: dict[str, int] = {}
    for ranked, weight in rankings:
        seen: set[str] = set()
        for row in ranked.rows:
            doc = doc_ids[row]
            if doc in seen:
                continue
            seen.add(doc)
            best_row.setdefault(doc, row)
            scores[doc] = scores.get(doc, 0.0) + weight / (k + len(seen))
    order = sorted(scores, key=lambda d: -scores[d])[:limit]
    return Ranked([best_row[d] for d in order], [scores[d] for d in order])


def all_scores(faiss_index, query: np.ndarray) -> np.ndarray:
    """Every row's inner product with `query`, in row order. FAISS's single-query scan runs on this
    thread; numpy's `matrix @ vector` goes to a multi-threaded BLAS above ~0.5 M multiply-adds, which
    took 19 ms instead of 0.2 ms on this busy 2-core host. At 10^6 rows, use the top-k search instead."""
    scores, rows = faiss_index.search(query.reshape(1, -1), faiss_index.ntotal)
    out = np.empty(faiss_index.ntotal, dtype=np.float32)
    out[rows[0]] = scores[0]
    return out


class HybridRetriever:
    """Loads the index (refusing a mismatched one) in `warm_up()`; `run(question)` retrieves."""

    def __init__(
        self,
        index_dir: Path,
        encoder: PassageEncoder | None = None,
        candidates: int = 30,
        rrf_k: int = 1,
        dense_weight: float = 3.0,
        bm25_weight: float = 1.0,
        chunking: ChunkingSettings | None = None,
        reranker: LearnedReranker | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.encoder = encoder or PassageEncoder(threads=1)
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.bm25_weight = bm25_weight
        self.chunking = chunking or ChunkingSettings()
        self.reranker = reranker
        self.index: KnowledgeIndex | None = None
        self._bm25 = None
        self._doc_ids: list[str] = []
        self._vectors: np.ndarray | None = None
        self._chunk_doc: np.ndarray | None = None
        self._n_docs = 0
        self._titles = None
        """FAISS inner-product index of the documents' title vectors (row i = document i)."""

    def warm_up(self) -> None:
        if self.index is not None:
            return
        import bm25s

        index = load_index(self.index_dir, self.encoder.model_id, self.chunking)
        self.encoder.warm_up()
        bm25 = bm25s.BM25()
        bm25.index(bm25_tokens([c.indexed_text for c in index.chunks]), show_progress=False)
        self._bm25 = bm25
        self._doc_ids = [c.doc_id for c in index.chunks]
        numbers = {d: i for i, d in enumerate(dict.fromkeys(self._doc_ids))}
        self._chunk_doc = np.array([numbers[d] for d in self._doc_ids], dtype=np.int64)
        self._n_docs = len(numbers)
        self._by_doc = np.argsort(self._chunk_doc, kind="stable")  # chunk rows grouped by document
        self._doc_starts = np.searchsorted(self._chunk_doc[self._by_doc], np.arange(self._n_docs))
        self._doc_ends = np.append(self._doc_starts[1:], len(self._chunk_doc))
        self._vectors = index.vectors()
        titles = index.title_vectors
        if titles is None:
            log.warning(
                "index without title vectors: re-run `twoline ingest` to add them",
                extra={"index": str(self.index_dir)},
            )
            titles = np.zeros((self._n_docs, index.faiss_index.d), dtype=np.float32)
        self._titles = build_faiss(titles, index.faiss_index.d)
        if self.reranker is not None:
            self.reranker.encoder_id = self.encoder.model_id
            self.reranker.warm_up()
        self.index = index

    def dense(self, question: str, limit: int, query: np.ndarray | None = None) -> Ranked:
        self.warm_up()
        query = self.encoder.encode([question]) if query is None else query
        limit = min(limit, self.index.faiss_index.ntotal)
        scores, rows = self.index.faiss_index.search(query, limit)
        keep = rows[0] >= 0
        return Ranked(rows[0][keep].tolist(), scores[0][keep].tolist())

    def dense_titles(self, query: np.ndarray, limit: int) -> Ranked:
        """Documents by max(best chunk cosine, title cosine), each shown by its best chunk."""
        self.warm_up()
        if self._n_docs == 0:
            return Ranked([], [])
        chunk_scores = all_scores(self.index.faiss_index, query)
        best = np.maximum.reduceat(chunk_scores[self._by_doc], self._doc_starts)  # document i's best chunk
        scores = np.maximum(best, all_scores(self._titles, query))
        order = np.argsort(-scores, kind="stable")[:limit]
        rows = []
        for doc in order.tolist():
            own = self._by_doc[self._doc_starts[doc] : self._doc_ends[doc]]
            rows.append(int(own[np.argmax(chunk_scores[own])]))
        return Ranked(rows, scores[order].tolist())

    def bm25(self, question: str, limit: int) -> Ranked:
        self.warm_up()
        tokens = bm25_tokens([question])
        if not tokens[0]:
            return Ranked([], [])
        limit = min(limit, len(self.index.chunks))
        rows, scores = self._bm25.retrieve(tokens, k=limit, show_progress=False, n_threads=1)
        keep = scores[0] > 0
        return Ranked(rows[0][keep].tolist(), scores[0][keep].tolist())

    def run(self, question: str, top_k: int = 5) -> RetrievalResult:
        started = time.perf_counter()
        self.warm_up()
        query = self.encoder.encode([question])
        dense = self.dense(question, self.candidates, query)
        titled = self.dense_titles(query[0], self.candidates)
        lexical = self.bm25(question, self.candidates)
        fused = reciprocal_rank_fusion(
            [(titled, self.dense_weight), (lexical, self.bm25_weight)],
            self._doc_ids,
            self.rrf_k,
            self.candidates,
        )
        reranked = self.rerank(question, query[0]) if self.reranker is not None else None
        final = reranked or fused
        top = final.rows[:top_k]
        cosine = [float(self._vectors[row] @ query[0]) for row in top]  # for the floor and the record
        passages = [self._passage(row, score) for row, score in zip(top, final.scores, strict=False)]
        return RetrievalResult(
            passages=passages,
            best_cosine=max(cosine, default=-1.0),
            dense=dense,
            bm25=lexical,
            fused=fused,
            latency_ms=(time.perf_counter() - started) * 1000,
            dense_titles=titled,
            reranked=reranked,
        )

    def chunk_scores(
        self, question: str, query: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Every chunk's dense cosine and BM25 score, every title's cosine, the question's BM25 terms."""
        self.warm_up()
        tokens = bm25_tokens([question])[0]
        dense = all_scores(self.index.faiss_index, query)
        lexical = self._bm25.get_scores(tokens) if tokens else np.zeros(len(dense), dtype=np.float32)
        return dense, np.asarray(lexical, dtype=np.float32), all_scores(self._titles, query), len(tokens)

    def rerank(self, question: str, query: np.ndarray) -> Ranked:
        """The learned reranker's order of the candidate documents (each by its best dense chunk)."""
        if self._n_docs == 0:
            return Ranked([], [])
        dense, lexical, titles, terms = self.chunk_scores(question, query)
        candidates = candidate_features(
            dense, lexical, self._chunk_doc, self._n_docs, terms,
            self.reranker.depth, self.rrf_k, self.dense_weight, titles,
        )  # fmt: skip
        scores = self.reranker.scores(candidates)
        order = np.argsort(-scores, kind="stable")[: self.candidates]
        return Ranked(candidates.best_chunk[order].tolist(), scores[order].tolist())

    def _passage(self, row: int, score: float) -> Passage:
        chunk = self.index.chunks[row]
        return Passage(
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            title=chunk.title,
            url=chunk.url,
            text=chunk.text,
            score=round(float(score), 6),
        )
