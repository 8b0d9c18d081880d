"""The censor as a lint of a domain's scripted answers (`twoline eval responses`).

A content writer who edits `responses/{en,ru}.yaml` gets every variant judged by the same censor that
guards the second line's answers, before the texts reach a client: each variant with its slots filled with
sample values and, for a Russian gender alternation, in both forms. A finding names the file's language,
the intent, the register and the variant's index, with the censor's action, category and score.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from pydantic import BaseModel

from first_line.domain import EMPATHETIC_PREFIX, Domain, ResponseVariant
from first_line.responses import fill_variant
from guardrails.censor import Censor

SAMPLE_SLOTS = {
    "amount": "120.00 EUR",
    "date": "12 March",
    "card_last4": "4821",
    "merchant": "Tesco",
    "name": "Anna",
}
"""What a slot is filled with for the lint (the censor reads words, not the values)."""


class ResponseFinding(BaseModel):
    language: str
    intent: str
    style: str
    """The register key in the file: formal, friendly, empathetic_formal or empathetic_friendly."""
    index: int
    """The variant's position among the intent's variants in that language (empathetic ones last)."""
    text: str
    action: str
    category: str | None
    score: float


class ResponseLint(BaseModel):
    variants: int
    texts: int
    """Texts judged: a gendered variant counts twice."""
    findings: list[ResponseFinding]
    seconds: float


def sample_texts(variant: ResponseVariant) -> list[str]:
    """The variant as a client could read it: slots filled, each gender form when it has them."""
    genders = ("male", "female") if variant.gendered else (None,)
    return [fill_variant(variant, SAMPLE_SLOTS, gender) for gender in genders]


def _variants(domain: Domain) -> Iterator[tuple[str, str, int, ResponseVariant]]:
    for language, by_intent in sorted(domain.responses.items()):
        for intent, variants in sorted(by_intent.items()):
            for index, variant in enumerate(variants):
                yield language, intent, index, variant


def lint_responses(domain: Domain, censor: Censor) -> ResponseLint:
    """Every scripted variant of `domain` through `censor`; a finding for each text it does not allow."""
    started = time.perf_counter()
    findings: list[ResponseFinding] = []
    variants = texts = 0
    for language, intent, index, variant in _variants(domain):
        variants += 1
        style = (EMPATHETIC_PREFIX if variant.empathetic else "") + variant.style
        for text in sample_texts(variant):
            texts += 1
            verdict = censor.run(text, language)
            if verdict.action != "allow":
                findings.append(
                    ResponseFinding(
                        language=language, intent=intent, style=style, index=index, text=text,
                        action=verdict.action, category=verdict.category, score=round(verdict.score, 4),
                    )
                )  # fmt: skip
    return ResponseLint(
        variants=variants, texts=texts, findings=findings, seconds=round(time.perf_counter() - started, 2)
    )
