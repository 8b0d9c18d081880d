"""Tests for first_line.entities: rules (amounts, cards, dates, merchants) and real spaCy/natasha NER."""

from __future__ import annotations

from datetime import date

import pytest

from first_line.entities import Entity, EntityExtractor, luhn_valid, slots_from_entities

TODAY = date(2026, 11, 20)  # a Friday
VALID_CARD = "4111 1111 1111 1111"
INVALID_CARD = "4111 1111 1111 1112"


@pytest.fixture(scope="module")
def ner() -> EntityExtractor:
    """The only fixture that loads models: spaCy en_core_web_sm and natasha, once for the module."""
    extractor = EntityExtractor()
    extractor.warm_up()
    return extractor


@pytest.fixture(scope="module")
def rules() -> EntityExtractor:
    return EntityExtractor(use_ner=False)


def values(entities: list[Entity], kind: str) -> list[str]:
    return [entity.value for entity in entities if entity.kind == kind]


def assert_spans_match(text: str, entities: list[Entity]) -> None:
    """Every entity's text is the slice it points at (card numbers are masked, so only their last4 match)."""
    for entity in entities:
        written = text[entity.start : entity.end]
        if entity.text.startswith("*"):
            assert written.endswith(entity.value)
        else:
            assert written == entity.text


# ---------------------------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I was charged £25 twice", "25.00 GBP"),
        ("Please refund 25 EUR", "25.00 EUR"),
        ("A payment of €1,200.50 went missing", "1200.50 EUR"),
        ("I lost 100 dollars", "100.00 USD"),
        ("send me $40 back", "40.00 USD"),
        ("it was USD 19.99", "19.99 USD"),
        ("Списали 500 рублей", "500.00 RUB"),
        ("Пришло 1 500,50 ₽", "1500.50 RUB"),
        ("Снято 300 руб. без моего ведома", "300.00 RUB"),
        ("Перевёл 20 евро", "20.00 EUR"),
        ("the amount of 250 is wrong", "250.00"),
        ("сумма 1500 не совпадает", "1500.00"),
    ],
)
def test_amounts(rules: EntityExtractor, text: str, expected: str) -> None:
    entities = rules.run(text, today=TODAY)
    assert values(entities, "amount") == [expected]
    assert_spans_match(text, entities)


def test_several_amounts_in_order(rules: EntityExtractor) -> None:
    text = "25 EUR, €1,200.50, 100 dollars and $40"
    assert values(rules.run(text), "amount") == ["25.00 EUR", "1200.50 EUR", "100.00 USD", "40.00 USD"]


def test_number_without_currency_is_not_an_amount(rules: EntityExtractor) -> None:
    assert values(rules.run("I called 3 times about order 12345"), "amount") == []


# ------------------------------------------------------------------------------------------------ cards


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert luhn_valid("5555555555554444")
    assert not luhn_valid("")


@pytest.mark.parametrize(
    "number", [VALID_CARD, "4111-1111-1111-1111", "4111111111111111", "5555 5555 5555 4444"]
)
def test_valid_card_number_gives_last4_only(rules: EntityExtractor, number: str) -> None:
    text = f"My card {number} was blocked"
    entities = rules.run(text, today=TODAY)
    last4 = number[-4:]
    assert [(e.kind, e.value, e.text) for e in entities] == [("card_last4", last4, f"**** {last4}")]
    assert text[entities[0].start : entities[0].end] == number


def test_luhn_invalid_number_is_not_a_card(rules: EntityExtractor) -> None:
    assert values(rules.run(f"My card {INVALID_CARD} was blocked"), "card_last4") == []


@pytest.mark.parametrize("language", ["en", "ru"])
def test_full_card_number_never_appears_in_any_field(ner: EntityExtractor, language: str) -> None:
    text = {
        "en": f"John Smith here, card {VALID_CARD} was charged $40 at Amazon, EUR 30 too",
        "ru": f"Это Иван Петров, карта {VALID_CARD}, списали 500 рублей в Пятёрочке",
    }[language]
    entities = ner.run(text, language=language, today=TODAY)
    assert "1111" in values(entities, "card_last4")
    full_digits = VALID_CARD.replace(" ", "")
    for entity in entities:
        for field in (entity.text, entity.value):
            assert VALID_CARD not in field
            assert full_digits not in field.replace(" ", "").replace("-", "")
            assert "4111 1111" not in field
    # nothing but the card entity was read out of the card digits
    card_start = text.index(VALID_CARD)
    card_end = card_start + len(VALID_CARD)
    assert [e.kind for e in entities if e.start < card_end and e.end > card_start] == ["card_last4"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The card ending in 1234 was declined", "1234"),
        ("last 4 digits 5678", "5678"),
        ("The last four digits of my card are 9012", "9012"),
        ("card number ends with 3456", "3456"),
        ("It is the **** 7788 one", "7788"),
        ("Карта на 1234 не работает", "1234"),
        ("Номер заканчивается на 5678", "5678"),
        ("последние 4 цифры 4321", "4321"),
    ],
)
def test_card_last4_phrases(rules: EntityExtractor, text: str, expected: str) -> None:
    entities = rules.run(text, today=TODAY)
    assert values(entities, "card_last4") == [expected]
    assert_spans_match(text, entities)


def test_amount_wins_over_card_phrase(rules: EntityExtractor) -> None:
    entities = rules.run("Оплатил картой на 1500 рублей", language="ru", today=TODAY)
    assert values(entities, "amount") == ["1500.00 RUB"]
    assert values(entities, "card_last4") == []


def test_year_is_not_a_card(rules: EntityExtractor) -> None:
    assert values(rules.run("my subscription ends in 2026", today=TODAY), "card_last4") == []


# ------------------------------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it happened yesterday", "2026-11-19"),
        ("I paid today", "2026-11-20"),
        ("the day before yesterday", "2026-11-18"),
        ("3 days ago", "2026-11-17"),
        ("a week ago", "2026-11-13"),
        ("on Monday", "2026-11-16"),
        ("last Friday", "2026-11-13"),
        ("next Tuesday", "2026-11-24"),
        ("on 12/03/2026", "2026-03-12"),
        ("on 03/25/2026", "2026-03-25"),
        ("on March 3", "2026-03-03"),
        ("on Dec 25", "2025-12-25"),  # no year and far ahead of today: last year
        ("3rd of March 2025", "2025-03-03"),
        ("on 2026-11-02", "2026-11-02"),
        ("это было вчера", "2026-11-19"),
        ("сегодня утром", "2026-11-20"),
        ("позавчера", "2026-11-18"),
        ("3 ноября", "2026-11-03"),
        ("2 дня назад", "2026-11-18"),
        ("в понедельник", "2026-11-16"),
        ("в прошлую пятницу", "2026-11-13"),
        ("12.03.2026", "2026-03-12"),
    ],
)
def test_dates(rules: EntityExtractor, text: str, expected: str) -> None:
    entities = rules.run(text, today=TODAY)
    assert values(entities, "date") == [expected]
    assert_spans_match(text, entities)


def test_unresolvable_dates_keep_their_text(rules: EntityExtractor) -> None:
    assert values(rules.run("on 31/02/2026", today=TODAY), "date") == ["31/02/2026"]
    assert values(rules.run("last week", today=TODAY), "date") == ["last week"]
    assert values(rules.run("на прошлой неделе", today=TODAY), "date") == ["на прошлой неделе"]


def test_lowercase_may_is_not_a_month(rules: EntityExtractor) -> None:
    assert values(rules.run("option 3 may be better", today=TODAY), "date") == []
    assert values(rules.run("on May 3", today=TODAY), "date") == ["2026-05-03"]


def test_today_defaults_to_the_current_date(rules: EntityExtractor) -> None:
    assert values(rules.run("today"), "date") == [date.today().isoformat()]


# -------------------------------------------------------------------------------- merchants and persons


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("I was charged £25 at Amazon yesterday", "en", "Amazon"),
        ("I bought groceries from Tesco Express", "en", "Tesco Express"),
        ("a purchase on eBay", "en", "eBay"),
        ("Списали 500 рублей в Пятёрочке", "ru", "Пятёрочке"),
        ("Оплатила в «Магнит у дома»", "ru", "Магнит у дома"),
    ],
)
def test_merchant_rules(rules: EntityExtractor, text: str, language: str, expected: str) -> None:
    entities = rules.run(text, language=language, today=TODAY)
    assert values(entities, "merchant") == [expected]
    assert values(entities, "person") == []
    assert_spans_match(text, entities)


def test_weekday_after_payment_word_is_a_date_not_a_merchant(rules: EntityExtractor) -> None:
    entities = rules.run("I paid 20 EUR on Monday", today=TODAY)
    assert values(entities, "merchant") == []
    assert values(entities, "date") == ["2026-11-16"]


def test_rules_only_extractor_finds_no_persons(rules: EntityExtractor) -> None:
    assert values(rules.run("Hi, I'm Sarah Connor", today=TODAY), "person") == []


def test_english_ner(ner: EntityExtractor) -> None:
    text = "Hi, I'm Sarah Connor. I sent $40 to John Smith and paid 30 GBP from Tesco"
    entities = ner.run(text, language="en", today=TODAY)
    assert values(entities, "person") == ["Sarah Connor", "John Smith"]
    assert "Tesco" in values(entities, "merchant")
    assert values(entities, "amount") == ["40.00 USD", "30.00 GBP"]
    assert_spans_match(text, entities)


def test_english_ner_org_is_a_merchant(ner: EntityExtractor) -> None:
    entities = ner.run("My husband Tom Hardy wants to close the account at HSBC", today=TODAY)
    assert values(entities, "person") == ["Tom Hardy"]
    assert values(entities, "merchant") == ["HSBC"]


def test_russian_ner(ner: EntityExtractor) -> None:
    text = "Меня зовут Анна Смирнова. Перевела 500 рублей Ивану Петрову, а в Сбербанке списали комиссию"
    entities = ner.run(text, language="ru", today=TODAY)
    assert values(entities, "person") == ["Анна Смирнова", "Ивану Петрову"]
    assert values(entities, "merchant") == ["Сбербанке"]
    assert values(entities, "amount") == ["500.00 RUB"]
    assert_spans_match(text, entities)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Transfer 500 EUR to Maria Garcia, reference 123456", "en"),
        ("Перевод 1 500,50 ₽ для Ольги Ивановой, код 4321", "ru"),
    ],
)
def test_numbers_are_never_names(ner: EntityExtractor, text: str, language: str) -> None:
    entities = ner.run(text, language=language, today=TODAY)
    names = [e for e in entities if e.kind in ("person", "merchant")]
    assert names
    assert not any(char.isdigit() for entity in names for char in entity.text)
    assert "EUR" not in values(entities, "merchant")


def test_warm_up_is_idempotent(ner: EntityExtractor) -> None:
    ner.warm_up()
    ner.warm_up()
    assert values(ner.run("I'm Sarah Connor", today=TODAY), "person") == ["Sarah Connor"]


# ------------------------------------------------------------------------------------ slots and limits


def test_slots_from_entities(ner: EntityExtractor) -> None:
    text = "I'm John Smith. Yesterday I was charged £25 at Amazon and £30 at Tesco on card ending in 1234"
    slots = slots_from_entities(ner.run(text, language="en", today=TODAY))
    assert slots == {
        "name": "John Smith",
        "date": "2026-11-19",
        "amount": "25.00 GBP",
        "merchant": "Amazon",
        "card_last4": "1234",
    }


def test_slots_from_no_entities() -> None:
    assert slots_from_entities([]) == {}


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_message(ner: EntityExtractor, rules: EntityExtractor, text: str) -> None:
    assert ner.run(text, today=TODAY) == []
    assert rules.run(text, language="ru", today=TODAY) == []


@pytest.mark.parametrize("language", ["en", "ru"])
def test_long_message(ner: EntityExtractor, language: str) -> None:
    filler = {"en": "I have been waiting for a reply for a long time. ", "ru": "Я очень долго жду ответа. "}
    tail = {
        "en": f"Yesterday £25 was charged at Amazon on card {VALID_CARD}.",
        "ru": f"Вчера списали 500 рублей в Пятёрочке с карты {VALID_CARD}.",
    }[language]
    text = (filler[language] * 100)[: 1999 - len(tail)] + " " + tail
    assert len(text) == 2000
    entities = ner.run(text, language=language, today=TODAY)
    slots = slots_from_entities(entities)
    assert slots["date"] == "2026-11-19"
    assert slots["amount"] in ("25.00 GBP", "500.00 RUB")
    assert slots["merchant"] in ("Amazon", "Пятёрочке")
    assert slots["card_last4"] == "1111"
    assert_spans_match(text, entities)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I sent 50 euros to John Smith yesterday", True),
        ("My payment at Tesco was declined", True),
        ("Перевёл деньги Ивану Петрову", True),
        ("why was my card declined", False),
        ("I think I was charged twice. Can you check?", False),
        ("Где моя карта? Я жду уже неделю", False),
    ],
)
def test_ner_runs_only_where_a_capitalised_word_could_be_a_name(text: str, expected: bool) -> None:
    from first_line.entities import may_hold_a_name

    assert may_hold_a_name(text) is expected


def test_a_message_without_a_name_candidate_skips_the_ner_model(ner: EntityExtractor, monkeypatch) -> None:
    import first_line.entities as entities

    calls: list[str] = []
    monkeypatch.setattr(entities, "_spacy_entities", lambda text: calls.append(text) or iter(()))
    ner.run("why was my card declined at the shop")
    ner.run("my payment at Tesco was declined")
    assert calls == ["my payment at Tesco was declined"]
