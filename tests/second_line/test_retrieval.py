"""Hybrid retrieval on the small real index: dense, BM25, fusion."""

from __future__ import annotations

from pathlib import Path

import pytest

from second_line.retrieval import HybridRetriever, Ranked, reciprocal_rank_fusion


@pytest.fixture(scope="module")
def retriever(kb_index: Path) -> HybridRetriever:
    retriever = HybridRetriever(kb_index)
    retriever.warm_up()
    return retriever


def _doc(retriever: HybridRetriever, ranked: Ranked) -> str:
    return retriever.index.chunks[ranked.rows[0]].doc_id


def test_a_paraphrase_finds_its_article(retriever: HybridRetriever):
    result = retriever.run(
        "is there a special name for a really big mortgage above the normal limits", top_k=3
    )
    assert result.passages[0].doc_id == "askcfpb:116"
    assert _doc(retriever, result.dense) == "askcfpb:116"
    assert result.best_cosine > 0.5
    assert result.passages[0].url.startswith("https://www.consumerfinance.gov/askcfpb/116/")


def test_bm25_finds_exact_words_and_fusion_keeps_them(retriever: HybridRetriever):
    result = retriever.run("wire transfers cut-off 3 pm Eastern", top_k=3)
    assert _doc(retriever, result.bm25).endswith("wire_cutoff.txt")
    assert result.passages[0].doc_id.endswith("wire_cutoff.txt")


def test_passages_are_distinct_documents_with_decreasing_scores(retriever: HybridRetriever):
    passages = retriever.run("how can I dispute a charge on my credit card", top_k=5).passages
    assert len({p.doc_id for p in passages}) == len(passages) == 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_rrf_counts_a_document_once_per_list_and_adds_the_lists():
    doc_ids = ["a", "a", "b", "c"]  # chunk row -> document
    dense = Ranked([1, 0, 2], [0.9, 0.8, 0.7])
    bm25 = Ranked([3, 2], [5.0, 4.0])
    fused = reciprocal_rank_fusion([(dense, 1.0), (bm25, 1.0)], doc_ids, k=1, limit=10)
    # a: 1/2; b: 1/3 + 1/3; c: 1/2  -> b first; a before c (dense first on ties)
    assert [doc_ids[r] for r in fused.rows] == ["b", "a", "c"]
    assert fused.rows[1] == 1  # a is represented by its best dense chunk
    assert fused.scores[0] == pytest.approx(2 / 3)


def test_dense_titles_scores_a_document_by_its_best_vector(retriever: HybridRetriever):
    question = "is there a special name for a really big mortgage above the normal limits"
    query = retriever.encoder.encode([question])
    titled = retriever.dense_titles(query[0], limit=5)
    chunk_only = retriever.dense(question, 30, query)
    assert retriever.index.chunks[titled.rows[0]].doc_id == "askcfpb:116"
    best_chunk = max(
        s for r, s in zip(chunk_only.rows, chunk_only.scores, strict=True) if r in titled.rows[:1]
    )
    assert titled.scores[0] >= best_chunk - 1e-6  # the title can only raise a document's score
    assert titled.scores == sorted(titled.scores, reverse=True)
    result = retriever.run(question, top_k=3)
    assert result.dense_titles is not None and result.passages[0].doc_id == "askcfpb:116"
