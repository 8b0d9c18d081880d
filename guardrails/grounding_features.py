"""Features of a (claim, passages) pair for the grounding verifier.

The claim and every passage sentence are embedded by the int8 MiniLM; the features are the best and
second-best cosine, word overlap with the passages and with the best-matching sentence (words, bigrams,
words no passage has), the facts rule (numbers and names missing from the passages), a negation
mismatch, and the element-wise product and difference of the claim and its best sentence (what a
cross-encoder would look at, on a budget).
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from first_line.text_encoder import TextEncoder
from guardrails.facts import missing_facts, strip_citations
from guardrails.text import split_sentences

_TOKEN = re.compile(r"[a-zа-яё0-9]+(?:'[a-z]+)?")
_NEGATION = re.compile(
    r"(?i)\b(?:not|no|never|cannot|can't|won't|don't|doesn't|isn't|aren't|нет|не|никогда)\b"
)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "you",
        "your",
        "we",
        "our",
        "us",
        "i",
        "me",
        "my",
        "he",
        "she",
        "they",
        "them",
        "their",
        "his",
        "her",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "so",
        "than",
        "then",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "also",
        "just",
        "about",
        "into",
        "over",
        "under",
        "more",
        "most",
        "some",
        "any",
        "all",
        "each",
        "other",
        "such",
        "only",
        "own",
        "same",
        "too",
        "very",
        "s",
        "t",
        "don't",
        "can't",
        "it's",
        "i'm",
        "you're",
        "yes",
        "no",
        "not",
    ]
)
SCALAR_FEATURES = 12


def content_tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS and len(t) > 1]


def passage_sentences(passages: list[str]) -> list[str]:
    sentences = [s.text for p in passages for s in split_sentences(p)]
    return sentences or [" ".join(passages)[:500] or "."]


def pair_features(encoder: TextEncoder, claims: list[str], passages: list[str]) -> np.ndarray:
    """One row per claim against the same passages: (len(claims), SCALAR_FEATURES + 2 * dim)."""
    sentences = passage_sentences(passages)
    clean_claims = [strip_citations(c).strip() or "." for c in claims]
    vectors = encoder.encode(clean_claims + sentences)
    claim_vectors, sentence_vectors = vectors[: len(claims)], vectors[len(claims) :]
    passage_tokens = set(content_tokens(" ".join(passages)))
    passage_bigrams = _bigrams(" ".join(passages))
    rows = []
    for claim, vector in zip(clean_claims, claim_vectors, strict=True):
        cosines = sentence_vectors @ vector
        order = np.argsort(-cosines)
        best = sentences[int(order[0])]
        tokens = content_tokens(claim)
        best_tokens = set(content_tokens(best))
        bigrams = _bigrams(claim)
        missing = missing_facts(claim, passages)
        scalars = [
            float(cosines[order[0]]),
            float(cosines[order[:2]].mean()),
            _share(tokens, passage_tokens),
            _share(tokens, best_tokens),
            _share(list(bigrams), passage_bigrams) if bigrams else 1.0,
            float(sum(t not in passage_tokens for t in tokens)),
            float(len(tokens)),
            float(sum(m.startswith("number:") for m in missing)),
            float(sum(m.startswith("name:") for m in missing)),
            float(bool(_NEGATION.search(claim)) != bool(_NEGATION.search(best))),
            float(len(claim)) / 100.0,
            float(not tokens),
        ]
        best_vector = sentence_vectors[int(order[0])]
        rows.append(np.concatenate([scalars, vector * best_vector, np.abs(vector - best_vector)]))
    return np.asarray(rows, dtype=np.float32)


def token_overlap(claim: str, passages: list[str]) -> float:
    """The baseline: the share of the claim's content words that appear in the passages."""
    tokens = content_tokens(strip_citations(claim))
    return _share(tokens, set(content_tokens(" ".join(passages))))


def _share(tokens: list[str], vocabulary: set[str]) -> float:
    return sum(t in vocabulary for t in tokens) / len(tokens) if tokens else 1.0


def _bigrams(text: str) -> set[tuple[str, str]]:
    tokens = _TOKEN.findall(text.lower())
    return set(itertools.pairwise(tokens))
