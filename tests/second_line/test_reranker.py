"""The learned reranker: its features, training on the small real index, loading, use in retrieval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evals.retrieval_eval import evaluate_retrieval
from first_line.artifacts import ArtifactError
from second_line.ranking_features import FEATURES, candidate_features, doc_max, ranks
from second_line.reranker import LearnedReranker
from second_line.reranker_training import title_queries, train_reranker
from second_line.retrieval import HybridRetriever


def test_doc_max_takes_each_documents_best_and_second_chunk():
    scores = np.array([0.2, 0.9, 0.5, 0.7], dtype=np.float32)
    chunk_doc = np.array([0, 0, 1, 0])
    best, second = doc_max(scores, chunk_doc, n_docs=3)
    assert best[:2].tolist() == pytest.approx([0.9, 0.5])
    assert best[2] == -np.inf  # a document without chunks
    assert second[:2].tolist() == pytest.approx([0.7, -1.0])
    assert ranks(np.array([0.1, 0.5, 0.3])).tolist() == [3, 1, 2]


def test_candidates_are_the_union_of_both_lists_with_their_features():
    dense = np.array([0.9, 0.1, 0.8, 0.2], dtype=np.float32)  # one chunk per document
    bm25 = np.array([0.0, 6.0, 0.0, 0.0], dtype=np.float32)
    found = candidate_features(dense, bm25, np.arange(4), 4, query_terms=3, depth=1)
    assert sorted(found.docs.tolist()) == [0, 1]  # dense's best and BM25's only hit
    row = dict(zip(FEATURES, found.features[found.docs.tolist().index(1)], strict=True))
    assert row["bm25_ratio"] == 1.0 and row["dense"] == pytest.approx(0.1)
    assert row["dense_gap"] == pytest.approx(0.8) and row["query_terms"] == 3
    assert found.best_chunk.tolist() == found.docs.tolist()


@pytest.fixture(scope="module")
def trained(kb_index: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reranker") / "reranker"
    retriever = HybridRetriever(kb_index)
    manifest = train_reranker(retriever, out, seed=3, depth=10, dev_share=0.25)
    assert manifest.data_sizes["queries"] >= 30
    return out


def test_training_uses_titles_without_their_own_copy(kb_index: Path, trained: Path):
    retriever = HybridRetriever(kb_index)
    retriever.warm_up()
    queries = title_queries(retriever)
    docs = {
        retriever.index.chunks[int(np.flatnonzero(retriever._chunk_doc == q.doc)[0])].doc_id for q in queries
    }
    assert "askcfpb:116" in docs and len(queries) >= 36
    manifest = json.loads((trained / "manifest.json").read_text())
    assert manifest["labels"] == list(FEATURES)
    assert {"kb_dev_reranker_recall@5", "kb_dev_dense_mrr", "kb_dev_bm25_mrr"} <= set(manifest["metrics"])
    assert 0.0 < manifest["metrics"]["kb_dev_reranker_mrr"] <= 1.0


def test_retrieval_with_the_reranker(kb_index: Path, trained: Path):
    retriever = HybridRetriever(kb_index, reranker=LearnedReranker(trained))
    result = retriever.run(
        "is there a special name for a really big mortgage above the normal limits", top_k=5
    )
    assert result.reranked is not None
    assert result.passages[0].doc_id == "askcfpb:116"
    assert len({p.doc_id for p in result.passages}) == 5
    assert [p.score for p in result.passages] == sorted((p.score for p in result.passages), reverse=True)
    assert result.best_cosine > 0.5


def test_a_reranker_of_another_encoder_is_refused(trained: Path):
    reranker = LearnedReranker(trained, encoder_id="other-encoder@123")
    with pytest.raises(ArtifactError, match="encoder"):
        reranker.warm_up()


def test_eval_reports_the_reranked_line(kb_index: Path, trained: Path, tmp_path: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {"question": "what is a jumbo loan, a mortgage bigger than the usual limit", "ask_ids": [116]}
        )
        + "\n"
        + json.dumps({"question": "where is the nearest branch", "ask_ids": []})
        + "\n"
    )
    report = evaluate_retrieval(HybridRetriever(kb_index, reranker=LearnedReranker(trained)), questions)
    assert set(report) >= {"fused", "dense", "bm25", "reranked", "latency_ms_p50", "latency_ms_p95"}
    assert report["reranked"]["recall@10"] == 1.0
    assert report["questions"] == 1 and report["skipped_without_ids"] == 1
