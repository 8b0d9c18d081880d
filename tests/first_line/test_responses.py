"""Scripted answers: variant by language, register and gender; slots filled; stable per dialog."""

from __future__ import annotations

import pytest

from first_line.responses import ClientProfile, client_register, render_response, with_message_language
from first_line.slot_values import localized_slots


def test_register_follows_age(domain):
    assert client_register(domain, ClientProfile(age=22)) == "friendly"
    assert client_register(domain, ClientProfile(age=55)) == "formal"
    assert client_register(domain, ClientProfile()) == "formal", "unknown age is addressed formally"


def test_language_and_register_pick_the_variant(domain):
    young_ru = render_response(domain, "card_arrival", ClientProfile(language="ru", age=20), {}, "d1")
    assert (young_ru.language, young_ru.style) == ("ru", "friendly")
    assert young_ru.text in {v.text for v in domain.responses["ru"]["card_arrival"]}
    unknown = render_response(domain, "card_arrival", ClientProfile(), {}, "d1")
    assert (unknown.language, unknown.style) == ("en", "formal")


def test_slots_are_filled_when_known_and_never_left_as_braces(domain):
    intent = next(
        name
        for name, variants in domain.responses["en"].items()
        if any("amount" in v.slots for v in variants)
    )
    slots = {"amount": "25.00 EUR", "merchant": "Tesco", "date": "2026-11-20", "card_last4": "1234"}
    with_slots = render_response(domain, intent, ClientProfile(), slots, "d1")
    assert "{" not in with_slots.text
    assert any(value in with_slots.text for value in slots.values())
    without = render_response(domain, intent, ClientProfile(), {}, "d1")
    assert "{" not in without.text


def test_a_date_is_written_the_way_the_answers_language_writes_it(domain):
    """Entities keep ISO dates; the client reads "28 November 2026" or "28 ноября 2026"."""
    intent = next(
        name
        for name, variants in domain.responses["en"].items()
        if any(v.slots == {"date"} for v in variants)
    )
    english = render_response(domain, intent, ClientProfile(), {"date": "2026-11-28"}, "d1").text
    assert "28 November 2026" in english and "2026-11-28" not in english
    russian = render_response(domain, intent, ClientProfile(language="ru"), {"date": "2026-11-28"}, "d1").text
    assert "28 ноября 2026" in russian
    raw = render_response(domain, intent, ClientProfile(), {"date": "the 5th"}, "d1").text
    assert "the 5th" in raw, "an unresolved date is shown as the client wrote it"


@pytest.mark.parametrize(
    ("value", "language", "written"),
    [
        ("1500.00 EUR", "en", "1,500.00 EUR"),
        ("1500.00 EUR", "ru", "1\u00a0500,00 EUR"),
        ("25.50", "ru", "25,50"),
        ("2026-03-01", "ru", "1 марта 2026"),
        ("about a hundred", "en", "about a hundred"),
    ],
)
def test_slot_values_are_written_for_the_language(value, language, written):
    slot = "date" if value[:4].isdigit() and "-" in value else "amount"
    assert localized_slots({slot: value}, language)[slot] == written


def test_gender_forms_only_for_known_gender(domain):
    gendered = [
        (name, v) for name, variants in domain.responses["ru"].items() for v in variants if v.gendered
    ]
    assert gendered, "the demo bank has Russian variants with gender forms"
    name, _variant = gendered[0]
    profile = ClientProfile(language="ru", age=20, gender="female")
    texts = {
        render_response(
            domain, name, profile, {"amount": "1", "date": "1", "merchant": "x", "card_last4": "1"}, f"d{i}"
        ).text
        for i in range(40)
    }
    assert all("|" not in t and "{" not in t for t in texts)
    no_gender = {
        render_response(domain, name, ClientProfile(language="ru", age=20), {}, f"d{i}").text
        for i in range(40)
    }
    plain = {v.text for v in domain.responses["ru"][name] if not v.gendered}
    assert no_gender <= plain


def test_first_name_comes_from_the_profile_not_the_message(domain):
    greeting = {v.text for v in domain.responses["en"]["greeting"] if "name" in v.slots}
    assert greeting
    profile = ClientProfile(first_name="Anna")
    text = render_response(domain, "greeting", profile, {"name": "John"}, "d").text
    assert "John" not in text
    assert "Anna" in text


def test_same_dialog_same_wording(domain):
    first = render_response(domain, "change_pin", ClientProfile(), {}, "dialog-42")
    assert all(
        render_response(domain, "change_pin", ClientProfile(), {}, "dialog-42") == first for _ in range(5)
    )


def test_a_client_without_a_language_is_answered_in_the_language_of_the_message(domain):
    unknown = ClientProfile()
    assert with_message_language(domain, unknown, "Деньги списали дважды, верните!").language == "ru"
    assert with_message_language(domain, unknown, "my card PIN is blocked").language is None  # the default
    assert with_message_language(domain, unknown, "12345 !!!").language is None
    english = ClientProfile(language="en")
    assert with_message_language(domain, english, "Деньги списали дважды").language == "en"  # the app knows
