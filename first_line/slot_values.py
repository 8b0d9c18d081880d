"""Slot values as a client reads them in an answer's language.

Entities keep machine-readable values (a date as `2026-11-28`, stored with the decision); an answer shows
them the way its language writes them: "28 November 2026", "28 ноября 2026". A date the extractor
could not resolve (its raw text) is shown as the client wrote it.
"""

from __future__ import annotations

from datetime import date

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
           "октября", "ноября", "декабря"),
}  # fmt: skip
"""Month names as a day-month-year date writes them (Russian: the genitive)."""


def localized_slots(slots: dict[str, str], language: str) -> dict[str, str]:
    """`slots` with the date written for `language` (other slots as they are)."""
    if "date" not in slots:
        return slots
    return slots | {"date": written_date(slots["date"], language)}


def written_date(value: str, language: str) -> str:
    """An ISO date as a day, a month name and a year; anything else unchanged."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    months = MONTHS.get(language, MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"
