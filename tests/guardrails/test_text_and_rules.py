"""Sentence spans, quote masking, the censor's rules and the fast profanity lexicon (no trained model)."""

from __future__ import annotations

import pytest

from guardrails.profanity_lexicon import profanity_lexicon
from guardrails.text import count_emoji, drop_spans, mask_quotes, split_sentences
from guardrails.tone_rules import rule_category


def test_sentences_keep_citations_decimals_and_trailing_emoji():
    text = "It costs $3.50 per transfer [1]. Call us, e.g. by phone! Have a nice day! 😊"
    assert [s.text for s in split_sentences(text)] == [
        "It costs $3.50 per transfer [1].",
        "Call us, e.g. by phone!",
        "Have a nice day! 😊",
    ]


def test_drop_spans_removes_exactly_one_sentence():
    text = "First sentence. Second one! Third?"
    second = split_sentences(text)[1]
    assert drop_spans(text, [second]) == "First sentence. Third?"


@pytest.mark.parametrize(
    ("sentence", "category"),
    [
        ("Oh for f**k's sake, read the app.", "insult"),
        ("This is sh*t.", "insult"),
        ("Бля, я же объяснял.", "insult"),
        ("Вы что, совсем тупой? Кнопка внизу.", "insult"),
        ("Ну ты и бестолочь, это же в тарифах.", "insult"),
        ("Your card is on its way 🎉🎉🎉🚀", "emoji_spam"),
        ("Your loan is guaranteed to be approved.", "promise"),
        ("You should buy Tesla shares now.", "investment_advice"),
        ("Купите биткоин, пока он дешёвый.", "investment_advice"),
        ("Between you and me, your internal risk rating is high.", "internal_disclosure"),
        ("The president is clueless, that's why rates are high.", "political"),
        ("Lol no worries bro, it's sorted.", "slang"),
        ("Щас глянем, всё норм.", "slang"),
        ("I'd rather not process this; asylum seekers often turn out to be fraudsters.", "discrimination"),
        ("Students always waste a credit limit on nonsense, so yours is low.", "discrimination"),
        ("Пенсионеры вечно всё путают, так что пусть приходит сын.", "discrimination"),
        ("Joint accounts are for a normal husband and wife.", "discrimination"),
        ("Confidentially, our risk engine marks your postcode down.", "internal_disclosure"),
        ("Короче, карту мы заблокировали.", "slang"),
    ],
)
def test_rules_catch(sentence, category):
    assert rule_category(mask_quotes(sentence)) == category


@pytest.mark.parametrize(
    "sentence",
    [
        "If you think someone has your card, we can kill the card right now.",
        "We have blocked the stolen card and opened a fraud investigation.",
        "A debt collector must tell you the name of the creditor.",
        'You wrote "this f***ing bank never answers", and I am sorry about the wait.',
        "We cannot guarantee approval, as it depends on a credit check.",
        "I'm sorry, but I can't share our internal risk criteria.",
        "The government guarantees deposits up to 250,000 dollars.",
        "Это невозможно употреблять в пищу.",
        "Have a nice day! 😊",
        "Our branch in Durham is open until 5 pm, and you can also pay by bank transfer.",
        'You wrote "lol this bank", and I understand the frustration.',
        "Норма расхода по карте зависит от тарифа.",
        "Процедура займёт один рабочий день, заступиться за вас может юрист.",
        "Вы написали, что приложение «тупое», и мне жаль, что так вышло.",
        "You can still buy crypto through platforms registered with the regulator.",
        "Вы можете купить золото в любом отделении банка.",
        "Students often qualify for a fee-free account.",
        "Older clients often prefer statements by post, and we are happy to send them.",
        "Fraud often targets older people, so never share your code.",
        "Refugees can open an account with a travel document.",
        "Студенты часто получают карту без платы за обслуживание.",
        "Our normal business hours are 9 am to 5 pm.",
        "Older customers are often targeted by impersonation scams, so we never ask for your PIN.",
        "Пенсионеры часто становятся жертвами мошенников, поэтому мы не спрашиваем код из СМС.",
        "Our specialist team can talk through the options with you confidentially.",
        "Для граждан некоторых стран перечень документов короче.",
    ],
)
def test_rules_pass_hard_negatives(sentence):
    assert rule_category(mask_quotes(sentence)) is None


def test_emoji_count():
    assert count_emoji("ok 👍") == 1


def test_profanity_lexicon_matches_the_package():
    from profanity_check import predict_prob

    texts = ["you are an idiot", "kill the card", "", "Your card will arrive in 5 days."]
    assert profanity_lexicon().probabilities(texts) == pytest.approx(predict_prob(texts), abs=1e-9)


def test_dev_split_keeps_bank_and_wiki_rows_out_of_training():
    from guardrails.tone_data import load_tone_data
    from tests.conftest import DATA_DIR, DOMAIN_DIR

    data = load_tone_data(DATA_DIR, DOMAIN_DIR, scale=0.05, dev=True)
    sources = {e.source for e in data.dev}
    assert sources == {"bank", "wiki"}
    trained = {e.text for e in data.train}
    assert not [e.text for e in data.dev if e.text in trained]
    assert load_tone_data(DATA_DIR, DOMAIN_DIR, scale=0.05).dev == []
