"""Sentence rows for the censor's training: it judges an answer sentence by sentence, so it should learn
from sentences, not only from whole multi-sentence answers.

A bank-style row is a whole answer, and a bad one is often a correct answer with one bad sentence in it.
Trained on the whole answer only, the model learns that its harmless sentences ("Your card is ready, you
can pick it up at the branch") lean bad, and then scores such sentences high in polite answers: the
block threshold climbs and recall falls. So, next to each multi-sentence row (kept whole for the
censor's whole-text view):
- a polite answer gives each of its sentences as a polite row;
- a bad answer gives its one bad sentence as a bad row of the answer's category: the sentence a rule
  fires on when exactly one does, else the sentence nearest to the single-sentence bad rows of that
  category and farthest from the polite ones (cosine on the sentence embedding; multiple-instance
  learning with a nearest-neighbour scorer). Its other sentences are left out: their label is unknown.
"""

from __future__ import annotations

import numpy as np

from guardrails.text import mask_quotes, split_sentences
from guardrails.tone_data import OK, ToneExample
from guardrails.tone_rules import rule_category

SENTENCE_SOURCES = frozenset({"bank"})


def with_sentence_rows(examples: list[ToneExample], embed) -> list[ToneExample]:
    """`examples` plus the sentence rows of their multi-sentence bank-style answers; `embed(texts)` gives
    normalised embeddings of model texts."""
    split = {i: [s.text for s in split_sentences(e.text)] for i, e in enumerate(examples)}
    multi = [i for i, e in enumerate(examples) if e.source in SENTENCE_SOURCES and len(split[i]) > 1]
    added = [
        ToneExample(sentence, OK, examples[i].language, examples[i].source)
        for i in multi
        if examples[i].category == OK
        for sentence in split[i]
    ]
    bad = [i for i in multi if examples[i].category != OK]
    if bad:
        picker = _BadSentencePicker(examples, split, embed)
        added += [
            ToneExample(picker.pick(split[i], examples[i].category), examples[i].category,
                        examples[i].language, examples[i].source)
            for i in bad
        ]  # fmt: skip
    return examples + added


class _BadSentencePicker:
    """Which sentence of a bad answer is the bad one: a lone rule hit, else the nearest-neighbour score."""

    def __init__(self, examples: list[ToneExample], split: dict[int, list[str]], embed) -> None:
        single = [i for i, e in enumerate(examples) if e.source in SENTENCE_SOURCES and len(split[i]) == 1]
        self._embed = embed
        self._categories = np.array([examples[i].category for i in single])
        self._single = embed([examples[i].text for i in single]) if single else np.zeros((0, 1))

    def pick(self, sentences: list[str], category: str) -> str:
        hits = [s for s in sentences if rule_category(mask_quotes(s))]
        if len(hits) == 1:
            return hits[0]
        vectors = self._embed(sentences)
        same = self._single[self._categories == category]
        polite = self._single[self._categories == OK]
        if len(same) == 0 or len(polite) == 0:
            return max(sentences, key=len)
        score = (vectors @ same.T).max(axis=1) - (vectors @ polite.T).max(axis=1)
        return sentences[int(np.argmax(score))]
