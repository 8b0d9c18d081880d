"""Sentence rows for the censor's training: polite answers give polite sentences, a bad answer gives
its one bad sentence (a lone rule hit, else the nearest-neighbour pick), other rows are untouched."""

from __future__ import annotations

import pytest

from guardrails.censor_sentences import with_sentence_rows
from guardrails.censor_training import model_text
from guardrails.tone_data import OK, ToneExample

pytestmark = pytest.mark.slow


def bank(text: str, category: str = OK, language: str = "en") -> ToneExample:
    return ToneExample(text, category, language, "bank")


SINGLE_SENTENCE_ROWS = [
    bank("You should put all your savings into our gold fund right now.", "investment_advice"),
    bank("Buy these shares today, they will double by spring.", "investment_advice"),
    bank("Honestly, only a genius like you could lose a card twice in a week.", "sarcasm"),
    bank("Your card has been blocked and a new one is on its way.", OK),
    bank("The transfer was sent and should arrive within one working day.", OK),
]


@pytest.fixture(scope="module")
def embed(censor):
    return lambda texts: censor.encoder.encode([model_text(t) for t in texts])


def test_a_polite_answer_gives_each_sentence_as_a_polite_row(embed):
    answer = bank("Your new card is ready. You can pick it up at the branch on Main Street.")
    rows = with_sentence_rows([*SINGLE_SENTENCE_ROWS, answer], embed)
    added = rows[len(SINGLE_SENTENCE_ROWS) + 1 :]
    assert [r.text for r in added] == [
        "Your new card is ready.",
        "You can pick it up at the branch on Main Street.",
    ]
    assert all(r.category == OK and r.source == "bank" for r in added)
    assert rows[: len(SINGLE_SENTENCE_ROWS) + 1] == [*SINGLE_SENTENCE_ROWS, answer]  # the whole answer stays


def test_a_bad_answer_gives_only_its_bad_sentence(embed):
    rule_hit = bank("Your card is on its way. Stop whining, dude. It arrives on Monday.", "slang")
    advice = bank(
        "Your deposit is open. I'd move everything into tech shares before they double. "
        "Interest is paid monthly.",
        "investment_advice",
    )
    rows = with_sentence_rows([*SINGLE_SENTENCE_ROWS, rule_hit, advice], embed)
    added = rows[len(SINGLE_SENTENCE_ROWS) + 2 :]
    assert [(r.text, r.category) for r in added] == [
        ("Stop whining, dude.", "slang"),  # the one sentence a rule fires on
        ("I'd move everything into tech shares before they double.", "investment_advice"),
    ]


def test_public_rows_and_single_sentences_are_left_alone(embed):
    wiki = ToneExample("This edit is fine. Thanks for the source.", OK, "en", "wiki")
    rows = with_sentence_rows([*SINGLE_SENTENCE_ROWS, wiki], embed)
    assert rows == [*SINGLE_SENTENCE_ROWS, wiki]
