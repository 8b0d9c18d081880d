"""Prompt-injection screen for client messages bound for the second line (English and Russian).

Rules, each with a name: overriding instructions ("ignore all previous instructions"), extracting the
system prompt ("print your system prompt", "what were you told"), role play that unlocks the model
("you are now DAN", "developer mode"), fake system or tool turns in the message ("### system:",
"<|im_start|>"), and requests to answer without the rules. A message that matches gets a safe reply or a
hand-off, never a generation. A plain banking question with "ignore" or "instructions" in it
("please ignore my previous message", "instructions for the card reader") does not match.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

_OVERRIDE = (
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.!?\n]{0,40}"
    r"\b(?:previous|prior|above|earlier|all|any|your|the|system|initial|original)\b[^.!?\n]{0,30}"
    r"\b(?:instructions?|prompts?|rules|directives|guidelines|guardrails|restrictions|context|programming)\b"
)
_OVERRIDE_RU = (
    r"(?:игнорируй|игнорировать|забудь|забыть|отмени|не\s+обращай\s+внимания\s+на|пропусти)[^.!?\n]{0,40}"
    r"(?:инструкци|правил|указани|ограничени|промпт|настройк|предыдущ)"
)
_EXTRACT = (
    r"\b(?:show|print|reveal|repeat|output|display|tell|give|what\s+(?:is|are|were)|leak|dump|share)\b"
    r"[^.!?\n]{0,30}\b(?:system\s+prompt|(?:your|initial|hidden|secret|system)\s+(?:instructions|prompt|rules)"
    r"|the\s+(?:instructions|prompt)\s+(?:above|you\s+(?:got|were\s+given))|prompt\s+above|instructions\s+above"
    r"|you\s+were\s+told|your\s+configuration)\b"
    r"|\bwhat\s+(?:were\s+you|have\s+you\s+been)\s+told\b"
)
_EXTRACT_RU = (
    r"(?:покажи|выведи|повтори|раскрой|напиши|какие|какой|расскажи)[^.!?\n]{0,30}"
    r"(?:системн\w+\s+(?:промпт|инструкци|сообщени)|сво[иею]\s+(?:инструкци|правила|промпт)|скрыт\w+\s+инструкци)"
)
_ROLEPLAY = (
    r"\b(?:you\s+are\s+now|from\s+now\s+on\s+you(?:\s+are|'re)|act\s+as|pretend\s+(?:to\s+be|you\s+are)|"
    r"roleplay\s+as)\b[^.!?\n]{0,40}\b(?:dan|jailbr\w*|unrestricted|unfiltered|no\s+rules|evil|developer|admin"
    r"|without\s+(?:any\s+)?(?:restrictions|rules|filters))\b|\b(?:developer|god|jailbreak|dan)\s+mode\b|\bDAN\b"
)
_ROLEPLAY_RU = (
    r"(?:теперь\s+ты|представь,?\s+что\s+ты|притворись)[^.!?\n]{0,40}"
    r"(?:без\s+(?:правил|ограничени)|взлом|админ|разработчик)"
)
_FAKE_TURN = (
    r"(?:^|\n)\s*(?:#{2,}\s*)?(?:system|assistant|developer)\s*:"
    r"|<\|im_start\|>|<\|system\|>|\[/?INST\]|<<SYS>>"
)
_NO_RULES = (
    r"\b(?:answer|respond|reply)\b[^.!?\n]{0,30}\bwithout\b[^.!?\n]{0,20}"
    r"\b(?:rules|restrictions|filters|censorship|guidelines|safety)\b"
)

RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("override_instructions", _OVERRIDE),
        ("override_instructions", _OVERRIDE_RU),
        ("system_prompt_extraction", _EXTRACT),
        ("system_prompt_extraction", _EXTRACT_RU),
        ("jailbreak_roleplay", _ROLEPLAY),
        ("jailbreak_roleplay", _ROLEPLAY_RU),
        ("fake_system_turn", _FAKE_TURN),
        ("answer_without_rules", _NO_RULES),
    )
)


class InjectionVerdict(BaseModel):
    is_injection: bool
    score: float
    rule: str | None


class InjectionScreen:
    def run(self, text: str) -> InjectionVerdict:
        for name, pattern in RULES:
            if pattern.search(text):
                return InjectionVerdict(is_injection=True, score=1.0, rule=name)
        return InjectionVerdict(is_injection=False, score=0.0, rule=None)
