"""The censor: the tone of a bot answer before it is sent -> allow, rewrite or block.

Every sentence is judged on its own (quoted customer words masked) by the trained classifier
(`censor_training`) and the rules in `tone_rules` (profanity, masked swear words, emoji spam, bank
phrases); a rule hit lifts the sentence's score to at least the threshold. The whole text is judged
too (long comments can be toxic without one toxic sentence): the model on the pooled sentence
embeddings (MiniLM and E5) and the profanity lexicon on the full text. The answer's score is the
worst of these, and the censor decides with it: under the threshold the answer is allowed. Otherwise
a bad sentence in an otherwise fine answer is dropped (rewrite) unless its category is severe (an
insult, a threat, discrimination) or too little would be left; then the whole answer is blocked.

Most answers are plainly polite, so a screen comes first: the TF-IDF head on every sentence and the whole
text and, for English, the profanity lexicon on the whole text (~0.5 ms, no encoder). A row whose reading
is under `screen_below` (tuned in training, row by row, so that the screen lets through at most 0.5% of
the inappropriate dev rows the full stack blocks) and no rule fired on keeps that reading as its score;
MiniLM (~2-5 ms a sentence) reads the others, and every sentence when the whole text's row is not under
the cut (that row pools the sentences' embeddings). An answer with every row under it reads no encoder.

E5 (its first six layers, `censor_training.E5_LAYERS`) costs more than MiniLM, so it runs in a further
stage: the stack without it (the fast stacker) scores every sentence and the whole text first, and only the
rows it is unsure of are scored again by E5 and the full stacker: a score from `e5_skip_below` (tuned in
training, row by row, so the fast stage lets through at most 1% of the inappropriate dev rows the full stack
blocks) and under `e5_block_above` (tuned so the fast stage blocks at most 1 in 10,000 of the polite dev
rows the full stack allows). A sentence a rule fired on is blocked whatever E5 reads, so E5 does not read it
either. Nor does E5 read anything once the rows the fast stage is sure of block the answer (`_blocks`: a
severe category, or too little left once they are dropped): more flagged sentences never turn a block into a
rewrite.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel
from threadpoolctl import ThreadpoolController

from first_line.artifacts import ArtifactError, Manifest, load_manifest
from first_line.e5_graph import e5_embeddings, reads_this_e5
from first_line.language import looks_russian
from first_line.multilingual_encoder import MultilingualEncoder
from guardrails.censor_training import (
    ARTIFACT_FILES,
    E5_LAYERS,
    INT8_PRODUCTS,
    LANGUAGE_STACKERS,
    Heads,
    Stackers,
    rule_score,
)
from guardrails.encoder import load_encoder
from guardrails.numpy_scoring import (
    BankStyleScorer,
    BinaryLogistic,
    BinaryTfidfScorer,
    LinearClassifier,
    RbfMargin,
)
from guardrails.pooled_embedding import POOLED_ROWS, pooled, sentence_weights
from guardrails.profanity_lexicon import profanity_lexicon
from guardrails.text import (
    Span,
    count_emoji,
    drop_spans,
    mask_quotes,
    model_text,
    split_sentences,
)
from guardrails.tone_rules import EMOJI_SPAM, rule_category

SEVERE = frozenset({"insult", "threat", "discrimination"})
LEXICON_CATEGORY = "insult"
"""What a whole text the profanity lexicon flags is named."""


class CensorVerdict(BaseModel):
    action: Literal["allow", "rewrite", "block"]
    text: str
    """The answer to send: unchanged (allow), without the bad sentences (rewrite), or as given (block)."""
    category: str | None
    score: float
    """What the censor decides with (allow below its threshold): the worst of the sentence scores and
    the whole-text score. A sentence a rule fired on scores in [threshold, 1] (`rule_score`)."""
    whole_text_score: float = 0.0
    """The whole-text reading alone (the model on the pooled sentences and, for English, the profanity
    lexicon): what a label given to a whole comment, such as Wikipedia's toxicity, judges."""
    threshold: float | None = None
    """The threshold it was decided at (the trained one, or TWOLINE_SECOND_LINE_CENSOR_THRESHOLD), kept with
    the decision so that a stored verdict can be read later whatever the setting is then."""


class WholeTone(BaseModel):
    score: float
    category: str | None
    """Set when the whole-text score reaches the threshold."""


class SentenceTone(BaseModel):
    span_start: int
    span_end: int
    text: str
    category: str | None
    score: float
    rule: bool


def _has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _lexicon_names_it(lexicon_p: float, model_score: float) -> bool:
    """Whether a flagged whole text is named `LEXICON_CATEGORY` rather than by the category head: the
    profanity lexicon reads it higher than the model (the lexicon knows swear words, not bank tone)."""
    return lexicon_p > model_score


def censor_is_current(folder: Path) -> bool:
    """The censor artifact has every file this version reads and was trained on the E5 graph it will
    run (an older one must be retrained)."""
    manifest = load_manifest(Path(folder), "censor")
    return not _staleness(manifest)


def _staleness(manifest: Manifest) -> str | None:
    """Why a censor artifact cannot be used by this version, or None."""
    missing = [name for name in ARTIFACT_FILES if name not in manifest.files]
    if missing:
        return f"a censor from an older version (no {', '.join(missing)})"
    if not manifest.params.get(POOLED_ROWS):
        return "a censor trained on texts of several sentences embedded whole (this version pools sentences)"
    if not manifest.params.get(LANGUAGE_STACKERS):
        return (
            "a censor that weighs its heads alike in both languages (this version weighs them per language)"
        )
    if not manifest.params.get(INT8_PRODUCTS):
        return "a censor tuned on float products of its RBF heads (this version reads them in int8)"
    if not reads_this_e5(manifest.depends_on, E5_LAYERS):
        trained_on = manifest.depends_on.get("e5", "none recorded")
        runs = e5_embeddings(E5_LAYERS)
        return f"a censor trained on another E5 graph ({trained_on}; this version runs {runs})"
    return None


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
        stale = _staleness(self.manifest)
        if stale:
            raise ArtifactError(f"{self.folder}: {stale}; retrain with `twoline train censor`")
        self.threshold = threshold if threshold is not None else self.manifest.params["threshold"]
        self.e5_skip_below = min(self.threshold, self.manifest.params["e5_skip_below"])
        self.e5_block_above = max(self.threshold, self.manifest.params.get("e5_block_above", np.inf))
        """Infinite for a censor trained before this cut (session 39): E5 reads every row it was unsure of."""
        self.screen_below = min(self.threshold, self.manifest.params.get("screen_below", 0.0))
        """0 for a censor trained before the screen (session 23): every answer is read by the encoders."""
        self.severe = severe
        self.min_kept_sentences = min_kept_sentences
        self.threads = threads
        self.encoder = load_encoder(self.folder, threads=threads)
        self.e5 = MultilingualEncoder(threads=threads, cache_size=0, layers=E5_LAYERS)
        self._heads: Heads | None = None

    def warm_up(self) -> None:
        if self._heads is not None:
            return
        self.encoder.warm_up()
        self.e5.warm_up()
        heads = Heads.load(self.folder)
        heads.tfidf = BinaryTfidfScorer(heads.tfidf)
        heads.head, heads.bank, heads.e5_bank, heads.categories = (
            BinaryLogistic(heads.head),
            BankStyleScorer(heads.bank, heads.prototypes),
            RbfMargin(heads.e5_bank),
            LinearClassifier(heads.categories),
        )
        stackers = Stackers.load(self.folder)
        self._stackers = Stackers(BinaryLogistic(stackers.fast), BinaryLogistic(stackers.full))
        self._lexicon = profanity_lexicon()
        self._blas = ThreadpoolController()
        self._heads = heads

    def _category(self, embeddings: np.ndarray) -> list[str]:
        return [str(c) for c in self._heads.categories.predict(embeddings)]

    @staticmethod
    def _is_russian(text: str, language: str) -> bool:
        return language.lower().startswith("ru") or looks_russian(text)

    def judge(self, text: str, language: str = "en") -> tuple[list[SentenceTone], WholeTone]:
        """The verdict on each sentence of `text`, and on the text as a whole: the model on the
        length-weighted mean of the sentence embeddings (no second encoder pass, one stacker call for
        both) and, for English, the profanity lexicon on the whole text. A row the screen finds plainly
        polite keeps the screen's reading (the TF-IDF head's). BLAS runs on `threads` threads:
        its default pool spins on these small products and costs more CPU than it saves."""
        self.warm_up()
        with self._blas.limit(limits=self.threads, user_api="blas"):
            return self._judge(text, language)

    def _judge(self, text: str, language: str) -> tuple[list[SentenceTone], WholeTone]:
        spans = split_sentences(text)
        if not spans:
            return [], WholeTone(score=0.0, category=None)
        russian = self._is_russian(text, language)
        prepared = [model_text(s.text) for s in spans] + ([model_text(text)] if len(spans) > 1 else [])
        rules = [rule_category(mask_quotes(span.text)) for span in spans]
        lexicon_p = (
            0.0
            if russian or not _has_letters(text)
            else float(self._lexicon.probabilities([prepared[-1]])[0])
        )
        tfidf_p = self._heads.tfidf.positive_probabilities(prepared)
        read = self._rows_to_read(tfidf_p, lexicon_p, rules)
        embeddings, scores = None, tfidf_p  # a screened row: plainly polite, its reading stands
        if read.any():
            embeddings, scores = self._model_scores(spans, prepared, rules, russian, tfidf_p, lexicon_p, read)
        sentence_scores = [
            rule_score(float(p), self.threshold) if rule else float(p) if _has_letters(span.text) else 0.0
            for span, p, rule in zip(spans, scores, rules, strict=False)
        ]  # "👍" alone: rules only
        flagged = [i for i, score in enumerate(sentence_scores) if score >= self.threshold]
        whole_model = float(scores[-1]) if _has_letters(text) else 0.0
        whole_score = max(whole_model, lexicon_p)
        whole_flagged = whole_score >= self.threshold and not _lexicon_names_it(lexicon_p, whole_model)
        named = (
            self._category(embeddings[flagged + ([-1] if whole_flagged else [])])
            if flagged or whole_flagged
            else []
        )
        categories = dict(zip(flagged, named, strict=False))
        result = [
            SentenceTone(
                span_start=span.start, span_end=span.end, text=span.text, score=score,
                category=(rules[i] or categories[i]) if i in categories else None, rule=rules[i] is not None,
            )
            for i, (span, score) in enumerate(zip(spans, sentence_scores, strict=True))
        ]  # fmt: skip
        if whole_score < self.threshold:
            return result, WholeTone(score=whole_score, category=None)
        return result, WholeTone(score=whole_score, category=named[-1] if whole_flagged else LEXICON_CATEGORY)

    def _rows_to_read(self, tfidf_p: np.ndarray, lexicon_p: float, rules: list[str | None]) -> np.ndarray:
        """The rows (sentences, then the whole text) the encoders read: a sentence a rule fired on, and a row
        the screen reads at or above `screen_below` (the whole text's row: the TF-IDF head or the lexicon).
        The whole text's row is pooled from every sentence's embedding, so reading it reads them all."""
        read = tfidf_p >= self.screen_below
        read[-1] |= lexicon_p >= self.screen_below
        read[: len(rules)] |= np.array([rule is not None for rule in rules])
        if len(rules) > 1 and read[-1]:
            read[:] = True
        return read

    def _model_scores(
        self,
        spans: list[Span],
        prepared: list[str],
        rules: list[str | None],
        russian: bool,
        screen: np.ndarray,
        lexicon_p: float,
        read: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """MiniLM embeddings of the `read` rows (zeros elsewhere) and the rows' scores: the fast stacker's,
        the full one's where the fast stage is unsure (between `e5_skip_below` and `e5_block_above`), no
        rule fired and the rows it is sure of do not block the answer already, and the `screen` reading on
        the rows not read."""
        count = len(spans)
        weights = sentence_weights(spans)
        rows = np.flatnonzero(read)
        sentences = rows[rows < count]
        embeddings = np.zeros((len(prepared), self.encoder.dimension), dtype=np.float32)
        # One sentence at a time, no padding: ~25% less time than a batch.
        embeddings[sentences] = self.encoder.encode([prepared[i] for i in sentences], batch_size=1)
        if count > 1 and read[count]:
            embeddings[count] = pooled(embeddings[:count], weights)[0]
        features = self._heads.features(
            [prepared[i] for i in rows], embeddings[rows], np.full(len(rows), float(russian)), screen[rows]
        )
        fast = self._stackers.fast.predict_proba(features)[:, 1]
        ruled = np.array([i < count and rules[i] is not None for i in rows])
        sure = ruled | (fast >= self.e5_block_above)
        # Neither surely polite nor surely blocked, and no rule blocks it: ask E5 too.
        unsure = (fast >= self.e5_skip_below) & ~sure
        scores = screen.copy()
        scores[rows] = fast
        if unsure.any() and not self._block_is_settled(
            spans, rules, embeddings, scores, rows[sure], lexicon_p
        ):
            scores[rows[unsure]] = self._full_scores(
                features[unsure], prepared[:count], weights, rows[unsure]
            )
        return embeddings, scores

    def _block_is_settled(
        self,
        spans: list[Span],
        rules: list[str | None],
        embeddings: np.ndarray,
        scores: np.ndarray,
        sure_rows: np.ndarray,
        lexicon_p: float,
    ) -> bool:
        """Whether the rows the fast stage is sure to flag (`sure_rows`: a rule fired, or a score of at least
        `e5_block_above`) block the answer already, whatever E5 would read on the others."""
        count = len(spans)
        flagged = [int(i) for i in sure_rows if i < count and (rules[i] or _has_letters(spans[i].text))]
        named = self._category(embeddings[flagged]) if flagged else []
        categories = [rules[i] or category for i, category in zip(flagged, named, strict=True)]
        whole = None  # the whole text named as `_judge` names it
        if count > 1 and count in sure_rows:
            lexicon = _lexicon_names_it(lexicon_p, float(scores[count]))
            whole = LEXICON_CATEGORY if lexicon else self._category(embeddings[[count]])[0]
        return self._blocks(categories, count, whole)

    def _too_little_left(self, flagged: int, sentences: int) -> bool:
        kept = sentences - flagged
        return kept < self.min_kept_sentences or kept < flagged

    def _blocks(self, flagged: list[str], sentences: int, whole: str | None) -> bool:
        """The rule that turns a flagged answer into a block rather than a rewrite: a flagged sentence of a
        severe category (`flagged`: their categories), a whole text read as severe (`whole`: its category,
        None when it is not flagged), or too little left once the flagged sentences are dropped (fewer than
        `min_kept_sentences`, or fewer than were dropped). More flagged sentences never undo a block."""
        return (
            any(category in self.severe for category in flagged)
            or whole in self.severe
            or self._too_little_left(len(flagged), sentences)
        )

    def _full_scores(
        self, features: np.ndarray, sentences: list[str], weights: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        """The full stack's scores of `rows` (sentences, then the whole text after the last one) from their
        fast `features` and the E5 head's margin. E5 reads only those sentences, unless the whole text is
        among the rows: its E5 vector is pooled from every sentence's."""
        whole = len(sentences) > 1 and rows[-1] == len(sentences)
        needed = list(range(len(sentences))) if whole else [int(i) for i in rows]
        embedded = self.e5.encode([sentences[i] for i in needed], batch_size=1)  # a padded batch costs more
        by_row = dict(zip(needed, embedded, strict=True))
        if whole:
            by_row[len(sentences)] = pooled(embedded, weights)[0]
        e5_rows = np.stack([by_row[int(i)] for i in rows])
        return self._stackers.full.predict_proba(self._heads.with_e5(features, e5_rows))[:, 1]

    def sentences(self, text: str, language: str = "en") -> list[SentenceTone]:
        """The verdict on each sentence of `text`."""
        return self.judge(text, language)[0]

    def run(self, text: str, language: str = "en") -> CensorVerdict:
        """Allow when the score (the worst of the sentences and the whole text) is under the threshold;
        else drop the flagged sentences (rewrite) or block."""
        tones, whole = self.judge(text, language)
        verdict = functools.partial(CensorVerdict, whole_text_score=whole.score, threshold=self.threshold)
        score = max([whole.score, *(t.score for t in tones)])
        if count_emoji(mask_quotes(text)) >= 2 * EMOJI_SPAM:
            return verdict(action="block", text=text, category="emoji_spam", score=max(score, 1.0))
        if score < self.threshold:
            return verdict(action="allow", text=text, category=None, score=score)
        bad = [t for t in tones if t.category]
        if not bad:  # no one sentence, but the whole text
            return verdict(action="block", text=text, category=whole.category, score=score)
        worst = max(bad, key=lambda t: t.score)
        if not self._blocks([t.category for t in bad], len(tones), whole.category):
            dropped = [Span(t.span_start, t.span_end, t.text) for t in bad]
            kept = drop_spans(text, dropped)
            return verdict(action="rewrite", text=kept, category=worst.category, score=score)
        severe = [t for t in bad if t.category in self.severe]
        if severe:
            category = max(severe, key=lambda t: t.score).category
        elif self._too_little_left(len(bad), len(tones)):
            category = worst.category
        else:
            category = whole.category
        return verdict(action="block", text=text, category=category, score=score)
