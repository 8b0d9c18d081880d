"""Ingestion: mixed sources, metadata, broken documents, incremental add/update/delete, refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from first_line.artifacts import ArtifactError
from knowledge_base.chunking import Chunker, ChunkingSettings
from knowledge_base.encoder import PassageEncoder, load_tokenizer
from knowledge_base.index_store import CHUNKS, TITLES, load_index
from knowledge_base.ingest import ingest
from tests.kb_fixtures import ARTICLES


def test_mixed_sources_are_indexed_with_their_metadata(kb_index: Path, kb_sources: Path):
    index = load_index(kb_index, PassageEncoder().model_id, ChunkingSettings())
    doc_ids = set(index.documents)
    assert sum(d.startswith("askcfpb:") for d in doc_ids) == ARTICLES  # APPROVED only
    kinds = {Path(d.split(":", 1)[1]).suffix for d in doc_ids if d.startswith("file:")}
    assert kinds == {".md", ".html", ".txt", ".pdf"}
    by_doc = {c.doc_id: c for c in index.chunks}
    jumbo = by_doc["askcfpb:116"]
    assert jumbo.title == "What is a jumbo loan?"
    assert jumbo.url and jumbo.url.startswith("https://www.consumerfinance.gov/askcfpb/116/")
    assert jumbo.source == str((kb_sources / "articles.jsonl").resolve())
    html = by_doc[f"file:{(kb_sources / 'branch_hours.html').resolve()}"]
    assert (html.title, html.url) == ("Branch opening hours", "https://demo.bank/help/branch-hours")
    pdf = by_doc[f"file:{(kb_sources / 'overdraft.pdf').resolve()}"]
    assert pdf.title == "Overdraft fees" and "25 dollars" in pdf.text
    for doc_id in doc_ids:  # positions are 0..n-1 per document
        positions = [c.position for c in index.chunks if c.doc_id == doc_id]
        assert sorted(positions) == list(range(len(positions)))
    manifest = index.manifest
    assert manifest.depends_on["encoder"] == PassageEncoder().model_id
    assert manifest.params["chunk_tokens"] == ChunkingSettings().chunk_tokens
    assert manifest.data_sizes == {"documents": len(doc_ids), "chunks": len(index.chunks)}
    assert index.faiss_index.ntotal == len(index.chunks)


def test_broken_and_empty_documents_are_reported_and_skipped(kb_sources: Path, tmp_path: Path):
    report = ingest(
        [kb_sources / "broken.pdf", kb_sources / "empty.txt", kb_sources / "wire_cutoff.txt"],
        tmp_path / "index",
    )
    skipped = dict(report.skipped)
    assert skipped[str(kb_sources / "broken.pdf")].startswith("unreadable")
    assert skipped[f"file:{(kb_sources / 'empty.txt').resolve()}"] == "empty"
    assert report.written and report.documents == 1


def test_bad_jsonl_rows_and_unapproved_articles_are_left_out(kb_sources: Path, tmp_path: Path):
    report = ingest([kb_sources / "articles.jsonl"], tmp_path / "index")
    assert report.documents == ARTICLES
    assert any(source.endswith("articles.jsonl:38") for source, _ in report.skipped)


def test_chunks_fit_the_encoder_window_counted_with_the_minilm_tokenizer(kb_index: Path):
    tokenizer = load_tokenizer(10_000)
    index = load_index(kb_index)
    limit = ChunkingSettings().chunk_tokens
    assert max(len(tokenizer.encode(c.text, add_special_tokens=False).ids) for c in index.chunks) <= limit
    long_text = " ".join(
        f"Sentence number {i} explains one more detail of the account rules." for i in range(200)
    )
    from llama_index.core import Document

    chunks = Chunker().chunk(Document(id_="x", text=long_text, metadata={"title": "t"}))
    assert len(chunks) > 5 and all(len(tokenizer.encode(c.text).ids) <= limit + 2 for c in chunks)


def test_incremental_update_adds_updates_and_deletes_by_document_id(kb_sources: Path, tmp_path: Path):
    sources = tmp_path / "sources"
    shutil.copytree(kb_sources, sources)
    index_dir = tmp_path / "index"
    first = ingest([sources], index_dir)
    before = load_index(index_dir)
    (sources / "card_replacement.md").write_text(
        "# Card replacement at Demo Bank\n\nA replacement debit card now arrives within two business days.\n"
    )
    (sources / "wire_cutoff.txt").unlink()
    (sources / "mortgage_holidays.txt").write_text(
        "Mortgage payment holidays\n\nAsk us for up to three months.\n"
    )
    second = ingest([sources], index_dir)
    assert second.written and second.version == first.version + 1
    assert second.updated == [f"file:{(sources / 'card_replacement.md').resolve()}"]
    assert second.deleted == [f"file:{(sources / 'wire_cutoff.txt').resolve()}"]
    assert second.added == [f"file:{(sources / 'mortgage_holidays.txt').resolve()}"]
    assert second.unchanged == first.documents - 2
    assert second.embedded_chunks == 2  # only the changed and the new document were embedded
    after = load_index(index_dir)
    assert after.manifest.data_sizes["chunks"] == len(after.chunks)
    old_vectors = dict(zip([c.chunk_id for c in before.chunks], before.vectors(), strict=True))
    new_vectors = dict(zip([c.chunk_id for c in after.chunks], after.vectors(), strict=True))
    assert np.allclose(old_vectors["askcfpb:116#0"], new_vectors["askcfpb:116#0"])  # carried over
    assert all(not c.doc_id.endswith("wire_cutoff.txt") for c in after.chunks)
    assert any("two business days" in c.text for c in after.chunks)
    third = ingest([sources], index_dir)  # nothing changed: no new version
    assert not third.written and third.version == second.version


def test_a_failing_run_leaves_the_current_index_untouched(kb_sources: Path, tmp_path: Path):
    index_dir = tmp_path / "index"
    ingest([kb_sources / "wire_cutoff.txt"], index_dir)
    manifest_before = (index_dir / "manifest.json").read_text()

    class BrokenEncoder(PassageEncoder):  # a real encoder that dies half-way (e.g. out of memory)
        def encode(self, texts, batch_size=32, progress=False):
            raise MemoryError("simulated")

    with pytest.raises(MemoryError):
        ingest([kb_sources / "card_replacement.md"], index_dir, encoder=BrokenEncoder())
    assert (index_dir / "manifest.json").read_text() == manifest_before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".index")] == []
    assert len(load_index(index_dir).chunks) == 1


def test_a_mismatched_index_is_refused_with_a_clear_error(kb_index: Path, tmp_path: Path):
    other_encoder = tmp_path / "other_encoder"
    shutil.copytree(kb_index, other_encoder)
    manifest = json.loads((other_encoder / "manifest.json").read_text())
    manifest["depends_on"]["encoder"] = "some-other-model@123"
    (other_encoder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"built with encoder 'some-other-model@123'.*twoline ingest"):
        load_index(other_encoder, PassageEncoder().model_id)

    truncated = tmp_path / "truncated"
    shutil.copytree(kb_index, truncated)
    lines = (truncated / CHUNKS).read_text().splitlines()
    (truncated / CHUNKS).write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ArtifactError, match=r"vectors.*chunks"):
        load_index(truncated)

    with pytest.raises(ArtifactError, match="chunked with"):
        load_index(kb_index, chunking=ChunkingSettings(chunk_tokens=128))


def test_serve_ingests_the_configured_sources_when_the_index_is_missing(kb_sources: Path, tmp_path: Path):
    from second_line.config import SecondLineSettings
    from second_line.factory import ensure_index

    config = SecondLineSettings(index_dir=tmp_path / "kb", sources=[kb_sources / "wire_cutoff.txt"])
    assert ensure_index(config, tmp_path, tmp_path) is True
    assert load_index(tmp_path / "kb").manifest.data_sizes["documents"] == 1
    assert ensure_index(config, tmp_path, tmp_path) is False  # present: left alone


def test_each_document_has_a_title_vector_in_chunk_order(kb_index: Path):
    index = load_index(kb_index)
    order = index.document_order()
    assert index.title_vectors.shape == (len(order), PassageEncoder().dimension)
    jumbo = index.title_vectors[order.index("askcfpb:116")]
    expected = PassageEncoder().encode(["What is a jumbo loan?"])[0]
    assert float(jumbo @ expected) == pytest.approx(1.0, abs=1e-4)
    norms = np.linalg.norm(index.title_vectors, axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-4)


def test_an_index_without_title_vectors_gets_them_on_the_next_ingest(
    kb_index: Path, kb_sources: Path, tmp_path: Path
):
    index_dir = tmp_path / "index"
    shutil.copytree(kb_index, index_dir)
    (index_dir / TITLES).unlink()  # an index written before title vectors existed
    manifest = json.loads((index_dir / "manifest.json").read_text())
    del manifest["files"][TITLES]
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    assert load_index(index_dir).title_vectors is None  # still loads
    report = ingest([kb_sources], index_dir)
    assert report.written and report.embedded_chunks == 0  # titles only, no chunk re-embedded
    after = load_index(index_dir)
    assert np.allclose(after.title_vectors, load_index(kb_index).title_vectors, atol=1e-5)
