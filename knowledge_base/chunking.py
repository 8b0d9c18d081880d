"""Chunking with LlamaIndex's SentenceSplitter, counted in MiniLM word pieces.

The splitter's default tokenizer is tiktoken, which downloads its vocabulary on first use;
we pass the MiniLM tokenizer (the one the encoder truncates with), so nothing is fetched and
a chunk fits the encoder's window. Sentences are split by a regex, not by NLTK data.
"""

from __future__ import annotations

import re

from llama_index.core import Document
from pydantic import BaseModel, Field

from knowledge_base.encoder import MAX_TOKENS, load_tokenizer

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


class ChunkingSettings(BaseModel):
    """Recorded in the index manifest: changing them means re-chunking everything."""

    chunk_tokens: int = Field(200, ge=32, le=MAX_TOKENS)
    overlap_tokens: int = Field(30, ge=0, le=128)


class Chunk(BaseModel):
    """One indexed passage and where it comes from."""

    chunk_id: str
    doc_id: str
    title: str
    url: str | None = None
    source: str
    position: int
    """0-based index of the chunk within its document."""
    text: str
    embed_title: bool = True

    @property
    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the title (the article's question) and the text."""
        return f"{self.title}\n{self.text}" if self.embed_title and self.title else self.text


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (regex: end punctuation followed by a capital or digit)."""
    out = []
    for paragraph in re.split(r"\n\s*\n|\n(?=[-*•] )", text):
        out.extend(s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s.strip())
    return out


class Chunker:
    def __init__(self, settings: ChunkingSettings | None = None) -> None:
        from llama_index.core.node_parser import SentenceSplitter

        self.settings = settings or ChunkingSettings()
        tokenizer = load_tokenizer(max_tokens=100_000)
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._splitter = SentenceSplitter(
            chunk_size=self.settings.chunk_tokens,
            chunk_overlap=self.settings.overlap_tokens,
            tokenizer=lambda text: tokenizer.encode(text, add_special_tokens=False).ids,
            chunking_tokenizer_fn=lambda text: [s + " " for s in split_sentences(text)] or [text],
            include_metadata=False,
            include_prev_next_rel=False,
        )

    def chunk(self, document: Document) -> list[Chunk]:
        meta = document.metadata
        pieces = [t for t in self._splitter.split_text(document.text) if t.strip()]
        return [
            Chunk(
                chunk_id=f"{document.doc_id}#{position}",
                doc_id=document.doc_id,
                title=meta.get("title") or document.doc_id,
                url=meta.get("url"),
                source=meta.get("source", ""),
                position=position,
                text=text.strip(),
                embed_title=bool(meta.get("embed_title", True)),
            )
            for position, text in enumerate(pieces)
        ]
