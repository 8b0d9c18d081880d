"""The extractive generator: no LLM, the passages' own sentences that best answer the question.

Each sentence of the top passages is scored by its cosine to the question (the knowledge-base
encoder), with a small bonus for the passage's rank; the best few are returned in reading
order, each followed by its passage's citation marker. Always grounded by construction, fast,
and the fallback when an LLM backend fails or times out.
"""

from __future__ import annotations

import numpy as np

from knowledge_base.chunking import split_sentences
from knowledge_base.encoder import PassageEncoder
from second_line.types import GeneratedAnswer, Passage

RANK_BONUS = 0.03
MIN_WORDS = 4


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, encoder: PassageEncoder, sentences: int = 2, passages: int = 3) -> None:
        self.encoder = encoder
        self.sentences = sentences
        self.passages = passages

    def warm_up(self) -> None:
        self.encoder.warm_up()

    def run(self, question: str, passages: list[Passage], deadline: float | None = None) -> GeneratedAnswer:
        shown = passages[: self.passages]
        candidates = [
            (p_index, s_index, sentence)
            for p_index, passage in enumerate(shown)
            for s_index, sentence in enumerate(split_sentences(passage.text))
            if len(sentence.split()) >= MIN_WORDS
        ]
        if not candidates:
            return GeneratedAnswer(text="", passages=shown, backend=self.name)
        vectors = self.encoder.encode([question] + [c[2] for c in candidates])
        scores = vectors[1:] @ vectors[0] - RANK_BONUS * np.array([c[0] for c in candidates])
        best = sorted(
            np.argsort(-scores)[: self.sentences], key=lambda i: (candidates[i][0], candidates[i][1])
        )
        text = " ".join(_cite(candidates[i][2], candidates[i][0] + 1) for i in best)
        return GeneratedAnswer(text=text, passages=shown, backend=self.name)


def _cite(sentence: str, number: int) -> str:
    """`Text [n].`: the marker goes before the sentence's closing punctuation."""
    sentence = sentence.strip()
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1]} [{number}]{sentence[-1]}"
    return f"{sentence} [{number}]."
