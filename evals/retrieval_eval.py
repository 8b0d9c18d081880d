"""`twoline eval retrieval`: recall@1/5/10 and MRR of dense, BM25, fused and (when trained) reranked
retrieval, and latency of the whole retrieval (the reranker included).

Questions file: JSONL, one `{"question": ..., "ask_ids": [...]}` a line (ids of the Ask CFPB
articles that answer it; other knowledge bases may give document ids as strings). Rankings are
per document: a document's rank is that of its best chunk. Lines with an empty `ask_ids` are
skipped and counted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from second_line.retrieval import HybridRetriever, Ranked

CUTOFFS = (1, 5, 10)


class EvalQuestion(BaseModel):
    question: str
    ask_ids: list[int | str]

    def doc_ids(self) -> set[str]:
        return {f"askcfpb:{i}" if isinstance(i, int) or str(i).isdigit() else str(i) for i in self.ask_ids}


def read_questions(path: Path) -> tuple[list[EvalQuestion], int]:
    """The questions with at least one answering id, and how many lines were skipped."""
    kept, skipped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        question = EvalQuestion.model_validate_json(line)
        if question.ask_ids:
            kept.append(question)
        else:
            skipped += 1
    return kept, skipped


def document_ranking(ranked: Ranked, chunk_doc_ids: list[str]) -> list[str]:
    """Chunk rows → document ids, best first, each document once."""
    seen: dict[str, None] = {}
    for row in ranked.rows:
        seen.setdefault(chunk_doc_ids[row], None)
    return list(seen)


def ranking_metrics(rankings: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in CUTOFFS:
        hits = [bool(set(r[:k]) & rel) for r, rel in zip(rankings, relevant, strict=True)]
        out[f"recall@{k}"] = round(float(np.mean(hits)), 4) if hits else 0.0
    reciprocal = [
        next((1.0 / i for i, d in enumerate(r, 1) if d in rel), 0.0)
        for r, rel in zip(rankings, relevant, strict=True)
    ]
    out["mrr"] = round(float(np.mean(reciprocal)), 4) if reciprocal else 0.0
    return out


def evaluate_retrieval(retriever: HybridRetriever, questions_path: Path) -> dict:
    questions, skipped = read_questions(questions_path)
    retriever.warm_up()
    retriever.run("warm up")  # the first query pays for lazy initialisation
    doc_ids = [c.doc_id for c in retriever.index.chunks]
    per_kind: dict[str, list[list[str]]] = {"fused": [], "dense": [], "dense_titles": [], "bm25": []}
    if retriever.reranker is not None:
        per_kind["reranked"] = []
    latencies = []
    for question in questions:
        started = time.perf_counter()
        result = retriever.run(question.question)
        latencies.append((time.perf_counter() - started) * 1000)
        for kind in per_kind:
            per_kind[kind].append(document_ranking(getattr(result, kind), doc_ids))
    relevant = [q.doc_ids() for q in questions]
    report: dict = {kind: ranking_metrics(r, relevant) for kind, r in per_kind.items()}
    report |= {
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
        "questions": len(questions),
        "skipped_without_ids": skipped,
        "index": str(retriever.index_dir),
        "index_variant": retriever.index.manifest.variant,
        "reranker": str(retriever.reranker.folder) if retriever.reranker is not None else None,
    }
    return report


def format_report(report: dict) -> str:
    lines = [f"{'':13}" + "".join(f"{m:>11}" for m in ("recall@1", "recall@5", "recall@10", "mrr"))]
    for kind in [k for k in ("dense", "dense_titles", "bm25", "fused", "reranked") if k in report]:
        lines.append(
            f"{kind:13}"
            + "".join(f"{report[kind][m]:>11.4f}" for m in ("recall@1", "recall@5", "recall@10", "mrr"))
        )
    lines.append(
        f"latency p50 {report['latency_ms_p50']:.1f} ms  p95 {report['latency_ms_p95']:.1f} ms  "
        f"({report['questions']} questions, {report['skipped_without_ids']} skipped without ids)"
    )
    return "\n".join(lines)


def dump(report: dict) -> str:
    return json.dumps(report, indent=2)
