"""The dialog models' run-time features: a history's word counts summed from its texts' counts."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from first_line.dialog_features import JoinedTextCounts
from first_line.tfidf_scorer import FastTfidf

TEXTS = [
    "My card hasn't arrived yet.",
    "",
    "Where is it?!",
    "card card CARD",
    "Карта не пришла, где она?",
    "end.Start of-the next_one",
    "   spaces   around   ",
]


def _fitted(**options) -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, **options).fit([*TEXTS, "start next one card arrived"])


def test_summed_counts_equal_the_counts_of_the_joined_history():
    part = FastTfidf.of(_fitted())
    counts = JoinedTextCounts(part)
    for end in range(len(TEXTS) + 1):
        earlier = TEXTS[:end]
        joined = part.counts(" ".join(earlier))
        assert counts.of_joined(earlier) == joined
        fast_index, fast_values = part.row_of_counts(counts.of_joined(earlier))
        index, values = part.row(" ".join(earlier))
        fast, exact = (
            dict(zip(fast_index.tolist(), fast_values, strict=True)),
            dict(zip(index.tolist(), values, strict=True)),
        )
        assert fast.keys() == exact.keys()
        assert np.allclose([fast[i] for i in exact], list(exact.values()), rtol=0, atol=1e-12)
    assert counts.of_joined(TEXTS) == counts.of_joined(TEXTS)  # again, from the cache
    assert np.isclose(np.linalg.norm(part.row(" ".join(TEXTS))[1]), 1.0)


def test_only_unigrams_of_the_default_word_pattern_are_summed():
    assert JoinedTextCounts.applies_to(_fitted())
    assert not JoinedTextCounts.applies_to(_fitted(ngram_range=(1, 2)))  # a bigram spans the join
    assert not JoinedTextCounts.applies_to(_fitted(analyzer="char_wb"))
    assert not JoinedTextCounts.applies_to(_fitted(token_pattern=r"\S+ \S+"))


def test_the_cache_keeps_the_latest_texts_only():
    counts = JoinedTextCounts(FastTfidf.of(_fitted()), cache_size=2)
    counts.of_joined(TEXTS[:4])
    assert counts.indices.cache_info().currsize == 2
