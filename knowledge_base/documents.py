"""Loading sources into LlamaIndex `Document`s, one per knowledge-base document id.

Kinds: JSONL of Q&A articles (the Ask CFPB export: `ask_id, question, answer, url, status`;
only APPROVED rows), Markdown, HTML, PDF and plain text. Each document carries the metadata
its chunks keep: `source` (the file), `title`, `url`; its id is stable across runs (`askcfpb:<id>`
for articles, the file path for the others), which is what incremental ingestion keys on.

A file that cannot be read, or that yields no text, is reported in `LoadResult.skipped` and the
run goes on.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from llama_index.core import Document

log = logging.getLogger("twoline.kb")

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | JSONL_SUFFIXES


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(source or document id, why) for every broken or empty input."""
    sources: list[str] = field(default_factory=list)
    """Every file that was looked at (a document of one of them that is gone was deleted)."""


def source_files(paths: list[Path]) -> list[Path]:
    """The supported files under `paths` (folders are walked), sorted for a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return files


def load_documents(paths: list[Path], include_titles: bool = True) -> LoadResult:
    """Every document of the given files and folders; broken ones are skipped and reported.

    `include_titles=False` indexes the article answers without their question line (for
    retrieval evaluation: Ask CFPB questions are near copies of the titles).
    """
    result = LoadResult()
    for file in source_files(paths):
        result.sources.append(str(file.resolve()))
        try:
            docs = _load_file(file, include_titles, result.skipped)
        except Exception as exc:  # a broken file is reported, never the end of the run
            result.skipped.append((str(file), f"unreadable: {type(exc).__name__}: {exc}"[:300]))
            continue
        for doc in docs:
            if not doc.text.strip():
                result.skipped.append((doc.doc_id, "empty"))
            else:
                result.documents.append(doc)
    seen: set[str] = set()
    unique = []
    for doc in result.documents:
        if doc.doc_id in seen:
            result.skipped.append((doc.doc_id, "duplicate document id"))
            continue
        seen.add(doc.doc_id)
        unique.append(doc)
    result.documents = unique
    for source, why in result.skipped:
        log.warning("skipped document", extra={"source": source, "why": why})
    return result


def _load_file(file: Path, include_titles: bool, skipped: list[tuple[str, str]]) -> list[Document]:
    suffix = file.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return load_qa_jsonl(file, include_titles, skipped)
    if suffix in MARKDOWN_SUFFIXES:
        return [_markdown(file)]
    if suffix in HTML_SUFFIXES:
        return [_html(file)]
    if suffix in PDF_SUFFIXES:
        return [_pdf(file)]
    return [_text(file)]


def load_qa_jsonl(file: Path, include_titles: bool, skipped: list[tuple[str, str]]) -> list[Document]:
    """Q&A articles, one JSON object a line; rows whose `status` is not APPROVED are left out."""
    docs = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if row.get("status", "APPROVED") != "APPROVED":
                    continue
                article_id = row["ask_id"]
                title = str(row.get("question") or "").strip()
                answer = _fix_joined_sentences(str(row.get("answer") or "").strip())
            except (ValueError, KeyError, TypeError) as exc:
                skipped.append((f"{file}:{number}", f"bad row: {type(exc).__name__}"))
                continue
            doc_id = f"askcfpb:{article_id}"
            docs.append(
                Document(
                    id_=doc_id,
                    text=answer,
                    metadata={
                        "doc_id": doc_id,
                        "source": str(file.resolve()),
                        "title": title,
                        "url": row.get("url") or None,
                        "embed_title": include_titles,
                    },
                )
            )
    return docs


_JOINED = re.compile(r"([a-z0-9)][.!?:])([A-Z“\"])")


def _fix_joined_sentences(text: str) -> str:
    """The export lost the break between HTML paragraphs ("costs.Points"); put a newline back."""
    return _JOINED.sub(r"\1\n\2", text)


def _file_document(file: Path, text: str, title: str | None, url: str | None = None) -> Document:
    doc_id = f"file:{file.resolve()}"
    return Document(
        id_=doc_id,
        text=text.strip(),
        metadata={
            "doc_id": doc_id,
            "source": str(file.resolve()),
            "title": (title or file.stem.replace("_", " ").replace("-", " ")).strip(),
            "url": url,
            "embed_title": True,
        },
    )


def _markdown(file: Path) -> Document:
    from llama_index.readers.file import MarkdownReader

    parts = MarkdownReader(remove_hyperlinks=False, remove_images=True).load_data(file)
    text = "\n\n".join(p.text for p in parts)
    title = next(
        (
            line.lstrip("#").strip()
            for line in file.read_text(encoding="utf-8").splitlines()
            if line.startswith("# ")
        ),
        None,
    )
    return _file_document(file, text, title)


def _html(file: Path) -> Document:
    from bs4 import BeautifulSoup
    from llama_index.readers.file import HTMLTagReader

    parts = HTMLTagReader(tag="body").load_data(file)
    soup = BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    canonical = soup.find("link", rel="canonical")
    url = canonical.get("href") if canonical else None
    return _file_document(file, "\n\n".join(p.text for p in parts), title, url)


def _pdf(file: Path) -> Document:
    from llama_index.readers.file import PDFReader

    pages = PDFReader(return_full_document=True).load_data(file)
    title = None
    try:
        from pypdf import PdfReader

        info = PdfReader(str(file)).metadata
        title = info.title if info else None
    except Exception:  # the title is a nicety; the text is what counts
        title = None
    return _file_document(file, "\n\n".join(p.text for p in pages), title)


def _text(file: Path) -> Document:
    from llama_index.readers.file import FlatReader

    parts = FlatReader().load_data(file)
    text = "\n\n".join(p.text for p in parts)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return _file_document(file, text, first if 0 < len(first) <= 100 else None)
