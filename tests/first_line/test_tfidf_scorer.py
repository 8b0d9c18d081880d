import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from first_line.tfidf_scorer import FastTfidf, TfidfScorer, WordwiseGrams

TRAINING = [
    "Where is my new card? It has not arrived yet.",
    "I was charged twice for the same coffee",
    "Please block my card, I lost it",
    "Мой перевод до сих пор не пришёл, что делать?",
    "Why was my top-up declined?",
    "Can I change my PIN at an ATM?",
]
LABELS = [0, 1, 0, 1, 1, 0]
TEXTS = [
    "",
    "   ",
    "zzzz qqqq",
    "Where is my card?\tIt has\nnot  arrived. Where is my card?",
    "Café déjà vu:\u00a0a non-breaking space, and ÉTÉ in capitals",
    "Мой перевод не пришёл, мой перевод!",
    "card " * 50,
    "a" * 3000,
]


def dense_row(part: FastTfidf, text: str) -> np.ndarray:
    index, values = part.row(text)
    row = np.zeros(part.size)
    np.add.at(row, index, values)
    return row


@pytest.mark.parametrize(
    "vectorizer",
    [
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, lowercase=False),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, strip_accents="unicode"),
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
    ],
    ids=["char_wb", "char_wb-cased", "char_wb-accents", "words"],
)
def test_fast_tfidf_rows_equal_sklearn_also_from_the_word_cache(vectorizer):
    vectorizer.fit(TRAINING)
    part = FastTfidf.of(vectorizer)
    assert isinstance(part.grams, WordwiseGrams) == (vectorizer.analyzer == "char_wb")
    expected = vectorizer.transform(TEXTS).toarray()
    for _ in range(2):  # the second pass reads every word from the cache
        computed = np.stack([dense_row(part, text) for text in TEXTS])
        assert np.abs(computed - expected).max() < 1e-9


def test_a_cached_word_is_counted_again_in_another_text():
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True).fit(TRAINING)
    grams = WordwiseGrams(vectorizer)
    once = sorted(grams("card"))
    assert once and sorted(grams("card card")) == sorted(once + once)
    assert grams.word_indices.cache_info().hits >= 2


def test_tfidf_scorer_of_a_feature_union_equals_sklearn():
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )
    pipeline = Pipeline([("features", features), ("model", LogisticRegression())]).fit(TRAINING, LABELS)
    scorer = TfidfScorer(pipeline)
    for _ in range(2):
        assert np.abs(scorer.log_probabilities(TEXTS) - pipeline.predict_log_proba(TEXTS)).max() < 1e-9
