"""The knowledge-base index on disk: FAISS vectors, a JSONL docstore and a manifest, in one folder.

    <index_dir>/manifest.json   kind "knowledge_base", encoder id, chunking settings, counts,
                                data hash, version number, file hashes (first_line/artifacts.py)
    <index_dir>/vectors.faiss   IndexFlatIP over unit vectors (inner product = cosine); row i ↔ chunk i
    <index_dir>/chunks.jsonl    the docstore: one `Chunk` a line (text, doc id, title, URL, source, position)
    <index_dir>/documents.json  doc id → content hash, source, chunk count (what incremental runs compare)
    <index_dir>/titles.npy      one unit vector per document (in order of first chunk) embedding its title
                                alone; zeros for a document without a title of its own or indexed without it

A new version is always written into a fresh folder and swapped in whole (`artifacts.new_version`),
so a reader never sees a half-written index. `load_index` refuses an index built with another
encoder, other chunking settings or another format, or whose files disagree, with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from first_line.artifacts import ArtifactError, Manifest, load_manifest, write_manifest
from knowledge_base.chunking import Chunk, ChunkingSettings

KIND = "knowledge_base"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.jsonl"
DOCUMENTS = "documents.json"
TITLES = "titles.npy"
FIX = "run `twoline ingest <sources> --index {index}` to rebuild it"


@dataclass
class DocumentRecord:
    hash: str
    source: str
    chunks: int


@dataclass
class KnowledgeIndex:
    """An index in memory: the FAISS index, its chunks in row order and the per-document records."""

    manifest: Manifest
    faiss_index: object
    chunks: list[Chunk]
    documents: dict[str, DocumentRecord]
    path: Path
    title_vectors: np.ndarray | None = None
    """(documents, dimension), row i for the i-th document in chunk order (`document_order`); None for
    an index written before title vectors existed (re-run `twoline ingest` to add them)."""

    def document_order(self) -> list[str]:
        return document_order(self.chunks)

    @property
    def version(self) -> int:
        return int(self.manifest.params.get("version", 0))

    def vectors(self) -> np.ndarray:
        """All stored vectors (n, d), row i for chunk i (used to carry unchanged documents over)."""
        n = self.faiss_index.ntotal
        if n == 0:
            return np.zeros((0, self.faiss_index.d), dtype=np.float32)
        return self.faiss_index.reconstruct_n(0, n)


def document_order(chunks: list[Chunk]) -> list[str]:
    """Document ids in the order of their first chunk (the row order of the title vectors)."""
    return list(dict.fromkeys(c.doc_id for c in chunks))


def has_own_title(chunk: Chunk) -> bool:
    """Whether a chunk's document is indexed with a real title (not its id, the fallback)."""
    return chunk.embed_title and bool(chunk.title) and chunk.title != chunk.doc_id


def build_faiss(vectors: np.ndarray, dimension: int):
    """Exact inner-product search: right for up to ~10^5 chunks (see README for 10^6)."""
    import faiss

    index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(
    folder: Path,
    vectors: np.ndarray,
    chunks: list[Chunk],
    documents: dict[str, DocumentRecord],
    manifest: Manifest,
    title_vectors: np.ndarray,
) -> Manifest:
    import faiss

    if len(vectors) != len(chunks):
        raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
    if len(title_vectors) != len(document_order(chunks)):
        raise ValueError(f"{len(title_vectors)} title vectors for {len(document_order(chunks))} documents")
    np.save(folder / TITLES, np.ascontiguousarray(title_vectors, dtype=np.float32))
    faiss.write_index(build_faiss(vectors, int(manifest.params["dimension"])), str(folder / VECTORS))
    with open(folder / CHUNKS, "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(chunk.model_dump_json() + "\n")
    (folder / DOCUMENTS).write_text(
        json.dumps({k: vars(v) for k, v in sorted(documents.items())}, indent=1), encoding="utf-8"
    )
    return write_manifest(folder, manifest)


def load_index(
    path: Path, encoder_id: str | None = None, chunking: ChunkingSettings | None = None
) -> KnowledgeIndex:
    """Read and check an index; raises ArtifactError saying what is wrong and how to fix it."""
    import faiss

    fix = FIX.format(index=path)
    if not (path / "manifest.json").is_file():
        raise ArtifactError(f"{path}: no knowledge-base index here; {fix}")
    manifest = load_manifest(path, KIND)
    built_with = manifest.depends_on.get("encoder")
    if encoder_id is not None and built_with != encoder_id:
        raise ArtifactError(
            f"{path}: built with encoder {built_with!r}, the service embeds questions with "
            f"{encoder_id!r}; the vectors are not comparable; {fix}"
        )
    if chunking is not None:
        built = {k: manifest.params.get(k) for k in ("chunk_tokens", "overlap_tokens")}
        wanted = {k: float(v) for k, v in chunking.model_dump().items()}
        if built != wanted:
            raise ArtifactError(f"{path}: chunked with {built}, configured {wanted}; {fix}")
    try:
        index = faiss.read_index(str(path / VECTORS))
        chunks = [
            Chunk.model_validate_json(line)
            for line in (path / CHUNKS).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        raw = json.loads((path / DOCUMENTS).read_text(encoding="utf-8"))
        documents = {k: DocumentRecord(**v) for k, v in raw.items()}
        titles = np.load(path / TITLES) if (path / TITLES).is_file() else None
    except (OSError, RuntimeError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable index ({type(exc).__name__}: {exc}); {fix}") from exc
    expected = manifest.data_sizes.get("chunks")
    if not (index.ntotal == len(chunks) == expected):
        raise ArtifactError(
            f"{path}: {index.ntotal} vectors, {len(chunks)} chunks, manifest says {expected}; {fix}"
        )
    if index.d != int(manifest.params.get("dimension", -1)):
        raise ArtifactError(f"{path}: vectors of dimension {index.d}, manifest says otherwise; {fix}")
    if titles is not None and titles.shape != (len(document_order(chunks)), index.d):
        raise ArtifactError(f"{path}: {titles.shape} title vectors do not match the documents; {fix}")
    return KnowledgeIndex(manifest, index, chunks, documents, path, titles)
