"""A small real knowledge base for the knowledge_base and second_line tests.

Sources: a slice of the Ask CFPB export (APPROVED rows, one SUBMITTED row, one broken line),
a Markdown guide, an HTML page, a text note, a real one-page PDF, a broken PDF and an empty file.
The index is built once per test session (real MiniLM embeddings, real FAISS), about 10 s.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import trained_once

DATA_DIR = Path(
    os.environ.get("TWOLINE_DATA_DIR", Path(__file__).resolve().parent.parent.parent / "shared" / "data")
)
KB_FILE = DATA_DIR / "askcfpb_kb" / "askcfpb_kb.jsonl"
ARTICLES = 36
TARGETS = (116, 61, 981, 5)
"""Articles the retrieval tests ask about; always in the slice."""

MARKDOWN = """# Card replacement at Demo Bank

Demo Bank replaces a lost or stolen debit card within five business days.
You can order a replacement card in the mobile app under Cards, then Replace card.
There is no fee for the first replacement in a calendar year.
"""
HTML = """<html><head><title>Branch opening hours</title>
<link rel="canonical" href="https://demo.bank/help/branch-hours"></head>
<body><h1>Branch opening hours</h1><p>Our branches are open Monday to Friday from 9 am to 5 pm.
On Saturdays the main branch is open from 10 am to 2 pm. All branches are closed on Sundays.</p></body></html>
"""
TEXT = (
    "Wire transfer cut-off time\n\n"
    "Domestic wire transfers requested before 3 pm Eastern time are sent the same business day.\n"
)
PDF_TEXT = "Overdraft fees at Demo Bank are 25 dollars per item, at most three per day."


def minimal_pdf(text: str) -> bytes:
    """A valid one-page PDF whose page shows `text` (Helvetica), with a correct xref table."""
    stream = f"BT /F1 11 Tf 40 740 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (Overdraft fees) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write_sources(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in KB_FILE.read_text(encoding="utf-8").splitlines()]
    approved = [r for r in rows if r["status"] == "APPROVED"]
    chosen = [r for r in approved if r["ask_id"] in TARGETS]
    chosen += [r for r in approved if r["ask_id"] not in TARGETS][: ARTICLES - len(chosen)]
    submitted = next(r for r in rows if r["status"] == "SUBMITTED")
    lines = [json.dumps(r) for r in chosen] + [json.dumps(submitted), '{"ask_id": 99999, "question": broken']
    (folder / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "card_replacement.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "branch_hours.html").write_text(HTML, encoding="utf-8")
    (folder / "wire_cutoff.txt").write_text(TEXT, encoding="utf-8")
    (folder / "overdraft.pdf").write_bytes(minimal_pdf(PDF_TEXT))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def kb_sources(tmp_path_factory) -> Path:
    return trained_once(tmp_path_factory, "kb_sources", write_sources)


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory, kb_sources) -> Path:
    """The index of `kb_sources`, built once per run (shared by both test folders and both workers)."""
    from knowledge_base.ingest import ingest

    return trained_once(tmp_path_factory, "kb_index", lambda target: ingest([kb_sources], target))


def copy_index(kb_index: Path, to: Path) -> Path:
    shutil.copytree(kb_index, to)
    return to
