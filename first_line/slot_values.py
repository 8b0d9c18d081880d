"""Slot values as a client reads them in an answer's language.

Entities keep machine-readable values (a date as `2026-11-28`, an amount as `1500.00 EUR`, stored with the
decision); an answer shows them the way its language writes them: "28 November 2026" and "1,500.00 EUR",
"28 ноября 2026" and "1 500,00 EUR". A value the extractor could not resolve (its raw text) is shown as
the client wrote it.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
           "октября", "ноября", "декабря"),
}  # fmt: skip
"""Month names as a day-month-year date writes them (Russian: the genitive)."""


AMOUNT = re.compile(r"(?P<units>\d+)\.(?P<cents>\d{2})(?P<currency> [A-Z]{3})?")
"""An amount as the entity extractor writes it: `1500.00 EUR`, `25.00`."""

GROUP_SEPARATOR = {"en": ",", "ru": "\u00a0"}
DECIMAL_SEPARATOR = {"en": ".", "ru": ","}


def localized_slots(slots: dict[str, str], language: str) -> dict[str, str]:
    """`slots` with the date and the amount written for `language` (other slots as they are)."""
    written = dict(slots)
    if "date" in written:
        written["date"] = written_date(written["date"], language)
    if "amount" in written:
        written["amount"] = written_amount(written["amount"], language)
    return written


def written_date(value: str, language: str) -> str:
    """An ISO date as a day, a month name and a year; anything else unchanged."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    months = MONTHS.get(language, MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def written_amount(value: str, language: str) -> str:
    """`1500.00 EUR` with the language's thousands and decimal separators; anything else unchanged."""
    match = AMOUNT.fullmatch(value)
    if match is None:
        return value
    units = f"{int(match['units']):,}".replace(",", GROUP_SEPARATOR.get(language, ","))
    decimal = DECIMAL_SEPARATOR.get(language, ".")
    return f"{units}{decimal}{match['cents']}{match['currency'] or ''}"
