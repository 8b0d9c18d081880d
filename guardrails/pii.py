"""PII redaction for logs, hand-off summaries written to logs, and prompts sent to an external LLM.

Rules (no model) for what rules find reliably: card numbers (Luhn-checked, via `first_line.entities`;
the last four digits are kept: "[card ending 1234]"), IBANs (mod-97 checked), account numbers (after
"account"/"счёт" or 20-digit Russian account numbers), phone numbers, e-mails, passport numbers. Personal
names come from the same NER the entity extractor uses (spaCy English, natasha Russian) when `use_ner`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from first_line.entities import _CARD_NUMBER_RE, EntityExtractor, luhn_valid

_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_ACCOUNT = re.compile(
    r"(?i)(?P<label>\b(?:account|acct|a/c|sort\s+code|сч[её]т\w*|р/с|л/с)(?:\s+(?:number|no\.?|#|номер))?"
    r"\s*(?:is|:|№|#)?\s*)(?P<number>\d[\d -]{5,30}\d)"
)
_RU_ACCOUNT = re.compile(r"(?<!\d)\d{20}(?!\d)")
_PASSPORT = re.compile(
    r"(?i)(?P<label>\b(?:passport|паспорт\w*)(?:\s+(?:number|no\.?|#|серия|номер|серии))*\s*(?:is|:|№)?\s*)"
    r"(?P<number>[A-ZА-Я]{0,2}\s?\d{2}\s?\d{2}\s?(?:(?:№|номер)\s*)?\d{6,7}|[A-Z]{1,2}\d{6,8}|\d{9})"
)
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d\s().-]{8,17}\d(?![\w])")
_UUID = re.compile(r"(\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)")
"""Our own ids (dialog ids are UUIDs): never personal data, and one whose last group is all digits
reads as a phone number to `_PHONE`."""


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def _cards(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return f"[card ending {digits[-4:]}]" if luhn_valid(digits) else match.group()

    return _CARD_NUMBER_RE.sub(replace, text)


def _ibans(text: str) -> str:
    return _IBAN.sub(lambda m: "[iban]" if iban_valid(m.group()) else m.group(), text)


def _accounts(text: str) -> str:
    text = _ACCOUNT.sub(lambda m: f"{m['label']}[account]", text)
    return _RU_ACCOUNT.sub("[account]", text)


def _passports(text: str) -> str:
    return _PASSPORT.sub(lambda m: f"{m['label']}[passport]", text)


def _phones(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[phone]" if 10 <= len(digits) <= 15 else match.group()

    return _PHONE.sub(replace, text)


def _emails(text: str) -> str:
    return _EMAIL.sub("[email]", text)


# Order matters: cards and IBANs before the looser account and phone patterns.
RULES: tuple[Callable[[str], str], ...] = (_emails, _cards, _ibans, _accounts, _passports, _phones)


def _apply_rules(text: str) -> str:
    for rule in RULES:
        text = rule(text)
    return text


def _outside_ids(text: str, redact_part: Callable[[str], str]) -> str:
    """`redact_part` applied to the text between UUIDs; the UUIDs stay as they are."""
    parts = _UUID.split(text)  # text, id, text, id, ..., text
    return "".join(part if i % 2 else redact_part(part) for i, part in enumerate(parts))


class PiiRedactor:
    """`redact(text)` -> the text with personal data replaced by placeholders."""

    def __init__(self, use_ner: bool = False) -> None:
        self.use_ner = use_ner
        self._extractor = EntityExtractor(use_ner=use_ner)

    def warm_up(self) -> None:
        self._extractor.warm_up()

    def redact(self, text: str, language: str = "en") -> str:
        text = _outside_ids(text, _apply_rules)
        if self.use_ner and text.strip():
            text = self._names(text, language)
        return text

    def _names(self, text: str, language: str) -> str:
        people = [e for e in self._extractor.run(text, language, ner=True) if e.kind == "person"]
        for entity in sorted(people, key=lambda e: e.start, reverse=True):
            if "[" not in entity.text:
                text = text[: entity.start] + "[name]" + text[entity.end :]
        return text


_default = PiiRedactor(use_ner=False)


def redact(text: str, language: str = "en") -> str:
    """Rules only (fast; what the log filter uses)."""
    return _default.redact(text, language)


class PiiLogFilter:
    """A logging filter that redacts the message, string fields and exception text of every record."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), ()
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in {
                "name",
                "levelname",
                "pathname",
                "filename",
                "module",
                "funcName",
                "processName",
                "threadName",
                "taskName",
            }:
                record.__dict__[key] = redact(value)
        if record.exc_info and not record.exc_text:
            import logging

            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_summary(summary: dict, language: str = "en", redactor: PiiRedactor | None = None) -> dict:
    """A hand-off summary safe to log: message texts and entity texts redacted, the rest unchanged."""
    redactor = redactor or _default
    copy = dict(summary)
    copy["last_messages"] = [
        {**m, "text": redactor.redact(m.get("text") or "", language)}
        for m in summary.get("last_messages", [])
    ]
    copy["entities"] = [
        {**e, "text": redactor.redact(str(e.get("text", "")), language),
         "value": redactor.redact(str(e.get("value", "")), language)}
        for e in summary.get("entities", [])
    ]  # fmt: skip
    return copy
