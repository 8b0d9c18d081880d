"""`twoline ingest`: sources → documents → chunks → embeddings → a new index version, incrementally.

Documents are keyed by id and content hash. A re-run embeds only new and changed documents,
carries the vectors of unchanged ones over from the current version, and drops documents whose
source no longer yields them (`prune`, the default: the index mirrors the given sources). A
broken or empty document is reported and skipped; a broken file's earlier documents are kept.
The result is written into a fresh folder and swapped in whole, never half-written.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from first_line.artifacts import ArtifactError, Manifest, new_version
from knowledge_base.chunking import Chunk, Chunker, ChunkingSettings
from knowledge_base.documents import load_documents
from knowledge_base.encoder import PassageEncoder
from knowledge_base.index_store import (
    KIND,
    DocumentRecord,
    KnowledgeIndex,
    document_order,
    has_own_title,
    load_index,
    write_index,
)

log = logging.getLogger("twoline.kb")


class IngestReport(BaseModel):
    index: str
    version: int
    written: bool
    """False when nothing changed (the current version stays)."""
    documents: int
    chunks: int
    added: list[str] = []
    updated: list[str] = []
    deleted: list[str] = []
    unchanged: int = 0
    skipped: list[tuple[str, str]] = []
    embedded_chunks: int = 0
    seconds: float = 0.0
    chunks_per_s: float = 0.0
    """Embedded chunks per second of the whole run (loading, chunking, embedding, writing)."""
    index_bytes: int = 0


def document_hash(text: str, metadata: dict) -> str:
    keyed = "\x1f".join([str(metadata.get(k)) for k in ("title", "url", "embed_title")] + [text])
    return hashlib.sha256(keyed.encode("utf-8")).hexdigest()[:20]


def ingest(
    paths: list[Path],
    index_dir: Path,
    encoder: PassageEncoder | None = None,
    chunking: ChunkingSettings | None = None,
    include_titles: bool = True,
    prune: bool = True,
    progress: bool = False,
) -> IngestReport:
    started = time.perf_counter()
    encoder = encoder or PassageEncoder(threads=2)
    chunking = chunking or ChunkingSettings()
    loaded = load_documents(paths, include_titles=include_titles)
    old = _current(index_dir, encoder.model_id, chunking)
    old_vectors = old.vectors() if old else np.zeros((0, encoder.dimension), np.float32)
    old_rows = _rows_by_document(old.chunks) if old else {}
    broken_sources = {s for s, _ in loaded.skipped}

    chunker = Chunker(chunking)
    keep_chunks: list[Chunk] = []
    keep_vectors: list[np.ndarray] = []
    new_chunks: list[Chunk] = []
    records: dict[str, DocumentRecord] = {}
    report = IngestReport(
        index=str(index_dir),
        version=old.version if old else 0,
        written=False,
        documents=0,
        chunks=0,
        skipped=loaded.skipped,
    )
    for doc in loaded.documents:
        digest = document_hash(doc.text, doc.metadata)
        previous = old.documents.get(doc.doc_id) if old else None
        if previous is not None and previous.hash == digest:
            rows = old_rows[doc.doc_id]
            keep_chunks.extend(old.chunks[i] for i in rows)
            keep_vectors.append(old_vectors[rows])
            records[doc.doc_id] = previous
            report.unchanged += 1
            continue
        chunks = chunker.chunk(doc)
        if not chunks:
            report.skipped.append((doc.doc_id, "no text after chunking"))
            continue
        new_chunks.extend(chunks)
        records[doc.doc_id] = DocumentRecord(digest, doc.metadata.get("source", ""), len(chunks))
        (report.updated if previous is not None else report.added).append(doc.doc_id)
    for doc_id, record in old.documents.items() if old else []:
        if doc_id in records:
            continue
        if prune and record.source not in broken_sources:
            report.deleted.append(doc_id)
            continue
        rows = old_rows[doc_id]  # not pruned, or its file is broken this time: keep what we had
        keep_chunks.extend(old.chunks[i] for i in rows)
        keep_vectors.append(old_vectors[rows])
        records[doc_id] = record

    report.documents, report.chunks = len(records), len(keep_chunks) + len(new_chunks)
    if (
        old is not None
        and old.title_vectors is not None
        and not (report.added or report.updated or report.deleted)
    ):
        report.seconds = round(time.perf_counter() - started, 2)
        report.index_bytes = _folder_bytes(index_dir)
        return report
    if not records:
        raise ArtifactError(
            f"no documents to index in {[str(p) for p in paths]} (skipped: {loaded.skipped[:5]})"
        )
    embedded = encoder.encode([c.indexed_text for c in new_chunks], progress=progress)
    vectors = np.concatenate([*keep_vectors, embedded]) if keep_vectors else embedded
    chunks = keep_chunks + new_chunks
    titles = title_vectors(chunks, encoder, old, {*report.added, *report.updated})
    version = (old.version if old else 0) + 1
    manifest = Manifest(
        kind=KIND,
        variant="titles_and_text" if include_titles else "text_only",
        seed=0,
        data_hash=_data_hash(records),
        data_sizes={"documents": len(records), "chunks": len(chunks)},
        labels=[],
        params={
            "version": float(version),
            "dimension": float(encoder.dimension),
            **{k: float(v) for k, v in chunking.model_dump().items()},
        },
        depends_on={"encoder": encoder.model_id},
    )
    with new_version(index_dir) as work:
        write_index(work, vectors, chunks, records, manifest, titles)
    report.version, report.written = version, True
    report.embedded_chunks = len(new_chunks)
    report.seconds = round(time.perf_counter() - started, 2)
    report.chunks_per_s = round(len(new_chunks) / max(report.seconds, 1e-9), 1)
    report.index_bytes = _folder_bytes(index_dir)
    log.info("ingested", extra={k: v for k, v in report.model_dump().items() if isinstance(v, int | float)})
    return report


def title_vectors(
    chunks: list[Chunk], encoder: PassageEncoder, old: KnowledgeIndex | None, changed: set[str]
) -> np.ndarray:
    """One vector per document for its title alone (zeros without one); unchanged documents keep theirs."""
    first = {c.doc_id: c for c in reversed(chunks)}
    order = document_order(chunks)
    carried = {}
    if old is not None and old.title_vectors is not None:
        carried = dict(zip(old.document_order(), old.title_vectors, strict=True))
    out = np.zeros((len(order), encoder.dimension), dtype=np.float32)
    todo = []
    for row, doc_id in enumerate(order):
        if not has_own_title(first[doc_id]):
            continue
        if doc_id in carried and doc_id not in changed:
            out[row] = carried[doc_id]
        else:
            todo.append(row)
    if todo:
        out[todo] = encoder.encode([first[order[r]].title for r in todo])
    return out


def _current(index_dir: Path, encoder_id: str, chunking: ChunkingSettings) -> KnowledgeIndex | None:
    if not (index_dir / "manifest.json").is_file():
        return None
    try:
        return load_index(index_dir, encoder_id, chunking)
    except ArtifactError as exc:
        log.warning("current index unusable, rebuilding from scratch", extra={"why": str(exc)[:300]})
        return None


def _rows_by_document(chunks: list[Chunk]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, chunk in enumerate(chunks):
        rows.setdefault(chunk.doc_id, []).append(i)
    return rows


def _data_hash(records: dict[str, DocumentRecord]) -> str:
    joined = "\n".join(f"{k}\t{v.hash}" for k, v in sorted(records.items()))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0
