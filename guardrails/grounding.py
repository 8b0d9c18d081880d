"""The grounding check: every sentence of a generated answer must be supported by the retrieved passages.

Per sentence: a sentence with no claim (a question back, a courtesy line) passes; a sentence with a
number, amount, percentage, date or name that no passage contains is unsupported (`facts`, a hard rule);
otherwise the trained verifier (`grounding_training`) decides. Unsupported sentences are dropped; when
too little of the answer is left (no supported claim, or fewer than `min_supported_share` of the claims),
the answer is rejected and the second line hands off.
"""

from __future__ import annotations

import re
from pathlib import Path

import joblib
import numpy as np
from pydantic import BaseModel

from first_line.artifacts import load_manifest
from guardrails.encoder import load_encoder
from guardrails.facts import missing_facts, strip_citations
from guardrails.grounding_features import content_tokens, pair_features
from guardrails.grounding_training import VERIFIER
from guardrails.text import Span, drop_spans, split_sentences

_COURTESY = re.compile(
    r"(?i)\b(?:thank|thanks|sorry|apolog|hope this helps|happy to help|glad to help|let me know|"
    r"anything else|have a (?:nice|good|great)|спасибо|извин|рад помочь|обращайтесь|хорошего дня)"
)


class SentenceSupport(BaseModel):
    sentence: str
    supported: bool
    score: float
    """The verifier's P(supported); 1.0 for a sentence with no claim, 0.0 when the facts rule failed."""
    reason: str
    """"verified" | "no_claim" | "low_score" | "number_not_in_passages:<x>" | "name_not_in_passages:<x>"."""


class GroundingResult(BaseModel):
    sentences: list[SentenceSupport]
    text: str
    """The answer with the unsupported sentences dropped (citation markers kept)."""
    rejected: bool
    reason: str | None


class GroundingChecker:
    """Load with `GroundingChecker(artifacts_dir / "grounding")`, `warm_up()`, then `run()` per answer."""

    def __init__(
        self,
        folder: Path | str,
        threshold: float | None = None,
        min_supported_share: float = 0.5,
        allowed_names: frozenset[str] = frozenset(),
        threads: int = 1,
    ) -> None:
        self.folder = Path(folder)
        self.manifest = load_manifest(self.folder, "grounding")
        self.threshold = threshold if threshold is not None else self.manifest.params["threshold"]
        self.min_supported_share = min_supported_share
        self.allowed_names = frozenset(n.lower() for n in allowed_names)
        self.encoder = load_encoder(self.folder, threads=threads, cache_size=20_000)
        self._model = None

    def warm_up(self) -> None:
        if self._model is None:
            self.encoder.warm_up()
            self._model = joblib.load(self.folder / VERIFIER)

    def scores(self, claims: list[str], passages: list[str]) -> np.ndarray:
        """The verifier's P(supported) for each claim against the passages (no rules)."""
        self.warm_up()
        if not claims:
            return np.zeros(0)
        return self._model.predict_proba(pair_features(self.encoder, claims, passages))[:, 1]

    def run(self, answer: str, passages: list[str]) -> GroundingResult:
        spans = split_sentences(answer)
        claims = [s for s in spans if is_claim(s.text)]
        scores = dict(zip(claims, self.scores([s.text for s in claims], passages), strict=True))
        results: list[SentenceSupport] = []
        for span in spans:
            results.append(self._judge(span, scores.get(span), passages))
        unsupported = [s for s, r in zip(spans, results, strict=True) if not r.supported]
        supported_claims = sum(r.supported and r.reason == "verified" for r in results)
        rejected, reason = False, None
        if not claims:
            rejected, reason = True, "no_claim"
        elif supported_claims == 0 or supported_claims < self.min_supported_share * len(claims):
            rejected, reason = True, "lost_substance"
        text = drop_spans(answer, unsupported) if unsupported else answer
        return GroundingResult(sentences=results, text=text, rejected=rejected, reason=reason)

    def _judge(self, span: Span, score: float | None, passages: list[str]) -> SentenceSupport:
        if score is None:
            return SentenceSupport(sentence=span.text, supported=True, score=1.0, reason="no_claim")
        missing = missing_facts(span.text, passages, self.allowed_names)
        if missing:
            kind, value = missing[0].split(":", 1)
            return SentenceSupport(
                sentence=span.text,
                supported=False,
                score=float(score),
                reason=f"{kind}_not_in_passages:{value}",
            )
        supported = score >= self.threshold
        return SentenceSupport(
            sentence=span.text,
            supported=supported,
            score=float(score),
            reason="verified" if supported else "low_score",
        )


def is_claim(sentence: str) -> bool:
    """False for a question back to the client or a courtesy line without facts."""
    text = strip_citations(sentence).strip()
    if text.endswith("?") or not content_tokens(text):
        return False
    return not (_COURTESY.search(text) and not re.search(r"\d", text) and len(content_tokens(text)) <= 8)
