"""Russian in Latin letters and back: the letter rules, the vocabulary's choice of spelling, and the
synthetic habits the detector learns from."""

from __future__ import annotations

import random

from first_line.transliteration import (
    TranslitStyle,
    Vocabulary,
    cyrillic_spellings,
    rule_spelling,
    skeleton,
    to_cyrillic,
    to_latin,
)

VOCABULARY = Vocabulary.build(
    ["где моя карта", "можно деньги деньги комиссию комиссию что что уже уже счёт счёт ноль ноль"] * 2,
    ["apple pay refund apple pay refund"],
)


def test_rules_cover_the_common_habits_of_each_letter():
    assert rule_spelling("gde") == "где"
    assert rule_spelling("shchet") == "щет"
    assert rule_spelling("4to") == "что"
    assert rule_spelling("kakoy") == "какой"
    assert rule_spelling("vy") == "вы"
    assert rule_spelling("zhdu") == "жду"
    assert rule_spelling("den'gi") == "деньги"


def test_every_reading_of_an_ambiguous_letter_is_a_spelling():
    assert {"можно", "мойно"} <= set(cyrillic_spellings("mojno"))
    assert "еще" in cyrillic_spellings("ewe")
    assert len(cyrillic_spellings("wwwwwwwwwwwwwwww", limit=50)) == 50


def test_the_vocabulary_picks_the_known_word_ignoring_soft_signs_and_yo():
    assert skeleton("счёт") == "счет"
    assert to_cyrillic("mojno", VOCABULARY) == "можно"
    assert to_cyrillic("dengi", VOCABULARY) == "деньги"  # the soft sign left out
    assert to_cyrillic("nol", VOCABULARY) == "ноль"
    assert to_cyrillic("komissiyu", VOCABULARY) == "комиссию"
    assert to_cyrillic("uje", VOCABULARY) == "уже"
    assert to_cyrillic("s4et", VOCABULARY) == "счёт"


def test_english_words_capitals_and_numbers_stay_as_written():
    text = "kak podklyuchit Apple Pay, PIN i refund 500 evro 15.03"
    assert to_cyrillic(text, VOCABULARY) == "как подключит Apple Pay, PIN и refund 500 евро 15.03"
    assert to_cyrillic("Где моя карта?", VOCABULARY) == "Где моя карта?"  # Cyrillic is left alone


def test_a_capital_initial_stays_so_names_stay_names():
    assert to_cyrillic("Ivanu Petrovu, gde", VOCABULARY) == "Ивану Петрову, где"
    assert to_cyrillic("GDE", VOCABULARY) == "где"  # shouting is not an acronym when the word is known


def test_synthetic_habits_vary_and_come_back_through_the_rules():
    rng = random.Random(3)
    spellings = {to_latin("Хочу заблокировать карту", TranslitStyle.draw(rng)) for _ in range(30)}
    assert len(spellings) > 3
    assert all(s.isascii() for s in spellings)
    assert {"hochu", "khochu", "xochu", "ho4u", "xo4u", "kho4u"} & {s.split()[0] for s in spellings}
    assert to_cyrillic(to_latin("где моя карта", TranslitStyle.draw(rng)), VOCABULARY) == "где моя карта"


def test_a_message_with_no_russian_only_word_is_not_read_as_russian():
    assert VOCABULARY.has_russian_word("gde tut dengi")
    assert not VOCABULARY.has_russian_word("hiya 2024")
    assert not VOCABULARY.has_russian_word("apple pay")  # "apple" is English; no Russian reading either
