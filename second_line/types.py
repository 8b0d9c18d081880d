"""The second line's data types (shared with the guardrails, see SECOND_LINE_CONTRACT.md)."""

from pydantic import BaseModel


class Passage(BaseModel):
    """One retrieved chunk of the knowledge base."""

    chunk_id: str
    doc_id: str
    title: str
    url: str | None = None
    text: str
    score: float
    """The retriever's (fused / reranked) relevance."""


class GeneratedAnswer(BaseModel):
    """What a generator produced, before the guardrails."""

    text: str
    """The answer, with citation markers [1], [2] that index `passages` (1-based)."""
    passages: list[Passage]
    backend: str
    """"openai" | "embedded" | "extractive"."""
    model: str | None = None
