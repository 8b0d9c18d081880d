"""Explicit requests for a human operator, in English and Russian.

Rules, not a model: a client who writes "operator" must reach one whatever the classifier
thinks (DESIGN.md step 2). The `human_operator` intent of the classifier catches the
paraphrases these patterns miss.
"""

from __future__ import annotations

import re

_PERSON = r"(?:human|person|operator|agent|representative|someone|somebody|staff|manager|employee|consultant)"
_EN = re.compile(
    r"\b(?:"
    rf"(?:talk|speak|chat)\w*\s+(?:to|with)\b.{{0,20}}\b{_PERSON}"  # talk to a real person
    # transfer me to an agent
    rf"|(?:connect|transfer|put|pass|switch|hand)\w*\s+(?:me|this|us)\b.{{0,25}}\b{_PERSON}"
    r"|(?:live|real|human)\s+(?:agent|person|operator|representative|support|chat)"  # a live agent
    rf"|^\s*{_PERSON}s?\s*(?:please|pls|now)?\s*[.!?]*\s*$"  # "operator please"
    r")",
    re.IGNORECASE,
)
_RU = re.compile(
    r"(?:"
    r"оператор\w*|жив\w+\s+(?:человек\w*|сотрудник\w*|специалист\w*)"
    r"|(?:позов\w*|соедин\w*|переключ\w*|перевед\w*|нужен|хочу|дайте|позвать)\b.{0,30}\b(?:человек\w*|сотрудник\w*|специалист\w*|консультант\w*|менеджер\w*)"
    r")",
    re.IGNORECASE,
)


def is_operator_request(text: str) -> bool:
    return bool(_EN.search(text) or _RU.search(text))
