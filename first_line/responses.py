"""Scripted answers: the variant that fits the client, with its slots filled.

Rules, in order:
1. language: the client's, else the domain's default;
2. register: friendly for clients younger than `policy.friendly_register_below_age`,
   formal for older clients and whenever the age is unknown;
3. a variant is usable only if every slot it names is known, and, when it has Russian gender
   forms (`{получил|получила}`), only if the client's gender is known;
4. among usable variants, those that use the most slots win (a concrete answer beats a generic
   one); ties are broken by a stable hash of the dialog id, so a client sees the same wording
   throughout a dialog while different clients see variety;
5. a client whose message reads negative (the sentiment model) gets an empathetic variant where
   the scenario has one (`empathetic_formal` / `empathetic_friendly`), the plain ones otherwise.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, Field

from first_line.domain import Domain, Language, Register, ResponseVariant
from first_line.language import looks_russian
from first_line.slot_values import localized_slots
from first_line.text_input import StorableText

Gender = Literal["male", "female"]
_TOKEN = re.compile(r"\{([^{}]*)\}")


class ClientProfile(BaseModel):
    """What the bank's CRM tells us about a client; every field is optional."""

    language: Language | None = None
    age: int | None = Field(None, ge=0, le=130)
    gender: Gender | None = None
    first_name: StorableText | None = Field(None, max_length=64)


class RenderedResponse(BaseModel):
    text: str
    language: Language
    style: Register
    variant: int
    """Index of the variant in the responses file (stored with the decision, for A/B and audits)."""
    empathetic: bool = False


class NoResponseError(LookupError):
    """The intent has no scripted answer (transfer-only and escalated intents)."""


def client_language(domain: Domain, profile: ClientProfile) -> Language:
    if profile.language in domain.settings.languages:
        return profile.language
    return domain.settings.default_language


def with_message_language(domain: Domain, profile: ClientProfile, text: str) -> ClientProfile:
    """A client whose app sent no language is answered in the language the message is written in:
    mostly Cyrillic letters mean Russian (when the domain speaks it); otherwise the domain's default."""
    if profile.language is None and "ru" in domain.settings.languages and looks_russian(text):
        return profile.model_copy(update={"language": "ru"})
    return profile


def client_register(domain: Domain, profile: ClientProfile) -> Register:
    below = domain.settings.policy.friendly_register_below_age
    return "friendly" if profile.age is not None and profile.age < below else "formal"


def render_response(
    domain: Domain,
    intent: str,
    profile: ClientProfile,
    slots: dict[str, str],
    dialog_key: str,
    negative: bool = False,
) -> RenderedResponse:
    language = client_language(domain, profile)
    style = client_register(domain, profile)
    variants = domain.responses[language].get(intent, ())
    if not variants:
        raise NoResponseError(f"no scripted answer for intent '{intent}' in '{language}'")
    # {name} is the client's own first name, never a person mentioned in the message.
    known = localized_slots({k: v for k, v in slots.items() if v and k != "name"}, language)
    if profile.first_name:
        known["name"] = profile.first_name
    usable = [
        (index, v)
        for index, v in enumerate(variants)
        if v.style == style and v.slots <= known.keys() and (profile.gender or not v.gendered)
    ]
    empathetic = negative and any(v.empathetic for _, v in usable)
    usable = [(index, v) for index, v in usable if v.empathetic == empathetic]
    richest = max(len(v.slots) for _, v in usable)
    best = [(index, v) for index, v in usable if len(v.slots) == richest]
    index, variant = best[_stable_choice(dialog_key, len(best))]
    return RenderedResponse(
        text=fill_variant(variant, known, profile.gender),
        language=language,
        style=style,
        variant=index,
        empathetic=empathetic,
    )


def fill_variant(variant: ResponseVariant, slots: dict[str, str], gender: Gender | None) -> str:
    """The variant's text with its slots filled and its gender alternations resolved (masculine unless
    the client is known to be female)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if "|" in token:
            male, female = token.split("|")
            return female if gender == "female" else male
        return slots[token]

    return _TOKEN.sub(replace, variant.text)


def _stable_choice(key: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % n
