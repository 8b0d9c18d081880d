"""The censor: the tone of a bot answer before it is sent -> allow, rewrite or block.

Every sentence is judged on its own (quoted customer words masked): the rules in `tone_rules` first
(profanity, masked swear words, emoji spam), then the trained classifier (`censor_training`). A bad
sentence in an otherwise fine answer is dropped (rewrite) unless its category is severe (an insult, a
threat, discrimination) or too little would be left; then the whole answer is blocked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import joblib
import numpy as np
from pydantic import BaseModel

from first_line.artifacts import load_manifest
from first_line.tfidf_scorer import TfidfScorer
from guardrails.censor_training import (
    CATEGORY_HEAD,
    HEAD,
    PROTOTYPES,
    STACKER,
    TFIDF,
    model_text,
    stack_features,
)
from guardrails.encoder import load_encoder
from guardrails.profanity_lexicon import profanity_lexicon
from guardrails.text import Span, count_emoji, drop_spans, looks_russian, mask_quotes, split_sentences
from guardrails.tone_rules import EMOJI_SPAM, rule_category

SEVERE = frozenset({"insult", "threat", "discrimination"})


class CensorVerdict(BaseModel):
    action: Literal["allow", "rewrite", "block"]
    text: str
    """The answer to send: unchanged (allow), without the bad sentences (rewrite), or as given (block)."""
    category: str | None
    score: float
    """The highest P(inappropriate) over the answer's sentences (1.0 when a rule fired)."""


class SentenceTone(BaseModel):
    span_start: int
    span_end: int
    text: str
    category: str | None
    score: float
    rule: bool


class BinaryTfidfScorer(TfidfScorer):
    """`TfidfScorer` for a binary classifier: sklearn keeps one weight column z, and softmax([0, z])
    is the same model as sigmoid(z), so the missing class gets zero weights."""

    def __init__(self, pipeline) -> None:
        super().__init__(pipeline)
        if self._weights.shape[1] == 1:
            self._weights = np.ascontiguousarray(
                np.concatenate([np.zeros_like(self._weights), self._weights], 1)
            )
            self._bias = np.concatenate([[0.0], self._bias])

    def positive_probabilities(self, texts: list[str]) -> np.ndarray:
        return np.exp(self.log_probabilities(texts))[:, 1]


class Censor:
    """Load with `Censor(artifacts_dir / "censor")`, `warm_up()` once, then `run()` per answer."""

    def __init__(
        self,
        folder: Path | str,
        threshold: float | None = None,
        severe: frozenset[str] = SEVERE,
        min_kept_sentences: int = 1,
        threads: int = 1,
    ) -> None:
        self.folder = Path(folder)
        self.manifest = load_manifest(self.folder, "censor")
        self.threshold = threshold if threshold is not None else self.manifest.params["threshold"]
        self.severe = severe
        self.min_kept_sentences = min_kept_sentences
        self.encoder = load_encoder(self.folder, threads=threads)
        self._head = None
        self._categories = None
        self._tfidf: TfidfScorer | None = None

    def warm_up(self) -> None:
        if self._head is not None:
            return
        self.encoder.warm_up()
        self._head = joblib.load(self.folder / HEAD)
        self._categories = joblib.load(self.folder / CATEGORY_HEAD)
        self._stacker = joblib.load(self.folder / STACKER)
        with np.load(self.folder / PROTOTYPES) as prototypes:
            self._prototypes = {name: prototypes[name] for name in ("bad", "good")}
        self._lexicon = profanity_lexicon()
        self._tfidf = BinaryTfidfScorer(joblib.load(self.folder / TFIDF))

    def scores(self, texts: list[str], language: str = "en") -> tuple[np.ndarray, list[str]]:
        """P(block) of the model alone (rules not applied) and the likeliest category, per text."""
        self.warm_up()
        prepared = [model_text(t) for t in texts]
        embeddings = self.encoder.encode(prepared)
        head_p = self._head.predict_proba(embeddings)[:, 1]
        tfidf_p = self._tfidf.positive_probabilities(prepared)
        russian = np.array([float(self._is_russian(t, language)) for t in texts])
        lexicon_p = self._lexicon.probabilities(prepared)
        features = stack_features(head_p, tfidf_p, lexicon_p, russian, embeddings, self._prototypes)
        categories = self._categories.classes_[np.argmax(self._categories.predict_proba(embeddings), axis=1)]
        return self._stacker.predict_proba(features)[:, 1], [str(c) for c in categories]

    @staticmethod
    def _is_russian(text: str, language: str) -> bool:
        return language.lower().startswith("ru") or looks_russian(text)

    def sentences(self, text: str, language: str = "en") -> list[SentenceTone]:
        """The verdict on each sentence of `text`."""
        spans = split_sentences(text)
        if not spans:
            return []
        scores, categories = self.scores([s.text for s in spans], language)
        result = []
        for span, bad, model_category in zip(spans, scores, categories, strict=True):
            rule = rule_category(mask_quotes(span.text))
            bad = bad if any(c.isalpha() for c in span.text) else 0.0  # "👍" or "..." alone: rules only
            flagged = rule is not None or bad >= self.threshold
            result.append(
                SentenceTone(
                    span_start=span.start, span_end=span.end, text=span.text,
                    category=(rule or model_category) if flagged else None,
                    score=1.0 if rule else float(bad), rule=rule is not None,
                )
            )  # fmt: skip
        return result

    def run(self, text: str, language: str = "en") -> CensorVerdict:
        tones = self.sentences(text, language)
        score = max((t.score for t in tones), default=0.0)
        bad = [t for t in tones if t.category]
        if count_emoji(mask_quotes(text)) >= 2 * EMOJI_SPAM:
            return CensorVerdict(action="block", text=text, category="emoji_spam", score=1.0)
        if not bad:
            return CensorVerdict(action="allow", text=text, category=None, score=score)
        worst = max(bad, key=lambda t: t.score)
        kept = len(tones) - len(bad)
        if any(t.category in self.severe for t in bad) or kept < self.min_kept_sentences or kept < len(bad):
            severe = [t for t in bad if t.category in self.severe]
            category = (max(severe, key=lambda t: t.score) if severe else worst).category
            return CensorVerdict(action="block", text=text, category=category, score=score)
        dropped = [Span(t.span_start, t.span_end, t.text) for t in bad]
        return CensorVerdict(
            action="rewrite", text=drop_spans(text, dropped), category=worst.category, score=score
        )
