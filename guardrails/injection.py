"""Prompt-injection screen for client messages bound for the second line (English and Russian).

Rules, each with a name: overriding instructions ("ignore all previous instructions"), extracting the
system prompt ("print your system prompt", "what were you told"), role play that unlocks the model
("you are now DAN", "developer mode"), fake system or tool turns in the message ("### system:",
"<|im_start|>"), and requests to answer without the rules. A message that matches gets a safe reply or a
hand-off, never a generation. A plain banking question with "ignore" or "instructions" in it
("please ignore my previous message", "instructions for the card reader") does not match. The rules see
each reading of the message (`injection_text.readings`: leetspeak, spaced letters, base64 undone).

Next to the rules, a trained classifier (`injection_training`) catches the phrasings no rule lists;
its threshold was tuned for few false alarms on ordinary client questions.
"""

from __future__ import annotations

import re
from pathlib import Path

import joblib
from pydantic import BaseModel

from first_line.artifacts import load_manifest
from guardrails.encoder import load_encoder
from guardrails.injection_text import readings
from guardrails.injection_training import CHAR_HEAD, EMBEDDING_HEAD, KIND, message_scores
from guardrails.numpy_scoring import BinaryTfidfScorer

_OVERRIDE = (
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.!?\n]{0,40}"
    r"\b(?:previous|prior|above|earlier|all|any|your|the|system|initial|original)\b[^.!?\n]{0,30}"
    r"\b(?:instructions?|prompts?|rules|directives|guidelines|guardrails|restrictions|context|programming)\b"
)
_OVERRIDE_RU = (  # whole words: "отправил" holds "правил", "проигнорируйте моё сообщение" is a client's
    r"\b(?:(?:про)?игнорируй|игнорировать|забудь|забыть|отмени|не\s+обращай\s+внимания\s+на|пропусти)\b"
    r"[^.!?\n]{0,40}\b(?:инструкци|правил|указани|ограничени|промпт|настройк|предыдущ)"
)
_EXTRACT = (
    r"\b(?:show|print|reveal|repeat|output|display|tell|give|what\s+(?:is|are|were)|leak|dump|share)\b"
    r"[^.!?\n]{0,30}\b(?:system\s+prompt|(?:your|initial|hidden|secret|system)\s+(?:instructions|prompt|rules)"
    # not "your instructions for closing an account": a question about a bank procedure
    r"(?!\s+(?:for|if|on|about|when|regarding|of|in\s+case|to\s+(?!me\b|us\b)))"
    r"|the\s+(?:instructions|prompt)\s+(?:above|you\s+(?:got|were\s+given))|prompt\s+above|instructions\s+above"
    r"|you\s+were\s+told|your\s+configuration)\b"
    r"|\bwhat\s+(?:were\s+you|have\s+you\s+been)\s+told\b"
)
_EXTRACT_RU = (
    r"\b(?:покажи|выведи|повтори|раскрой|напиши|какие|какой|расскажи)\b[^.!?\n]{0,30}"
    r"\b(?:системн\w+\s+(?:промпт|инструкци|сообщени)|сво[иею]\s+(?:инструкци|правила|промпт)|скрыт\w+\s+инструкци)"
)
_ROLEPLAY = (
    r"\b(?:you\s+are\s+now|from\s+now\s+on\s+you(?:\s+are|'re)|act\s+as|pretend\s+(?:to\s+be|you\s+are)|"
    r"roleplay\s+as)\b[^.!?\n]{0,40}\b(?:dan|jailbr\w*|unrestricted|unfiltered|no\s+rules|evil|developer|admin"
    r"|without\s+(?:any\s+)?(?:restrictions|rules|filters))\b|\b(?:developer|god|jailbreak|dan)\s+mode\b|\bDAN\b"
)
_ROLEPLAY_RU = (
    r"\b(?:теперь\s+ты|представь,?\s+что\s+ты|притворись)\b[^.!?\n]{0,40}"
    r"\b(?:без\s+(?:правил|ограничени)|взлом|админ|разработчик)"
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
    """1.0 when a rule fired, else the model's P(injection) (0.0 without a model)."""
    rule: str | None
    model_score: float | None = None
    threshold: float | None = None


class InjectionScreen:
    """The rules, and the trained classifier when `folder` is given (`InjectionScreen(artifacts_dir /
    "injection")`): a message is an injection when a rule matches one of its readings or the model's
    score reaches the threshold tuned at training (`injection_training`)."""

    def __init__(
        self, folder: Path | str | None = None, threshold: float | None = None, threads: int = 1
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.threshold = threshold
        self.encoder = None
        self._embedding_head = None
        self._chars: BinaryTfidfScorer | None = None
        if self.folder is not None:
            manifest = load_manifest(self.folder, KIND)
            self.threshold = threshold if threshold is not None else manifest.params["threshold"]
            self.encoder = load_encoder(self.folder, threads=threads)

    @property
    def has_model(self) -> bool:
        return self.folder is not None

    def warm_up(self) -> None:
        if self.folder is None or self._embedding_head is not None:
            return
        self.encoder.warm_up()
        self._chars = BinaryTfidfScorer(joblib.load(self.folder / CHAR_HEAD))
        self._embedding_head = joblib.load(self.folder / EMBEDDING_HEAD)

    def run(self, text: str) -> InjectionVerdict:
        rule = self.rule(text)
        model_score = self.model_scores([text])[0] if self.has_model else None
        if rule is not None:
            return InjectionVerdict(is_injection=True, score=1.0, rule=rule, model_score=model_score,
                                    threshold=self.threshold)  # fmt: skip
        flagged = model_score is not None and model_score >= self.threshold
        return InjectionVerdict(
            is_injection=flagged, score=model_score or 0.0, rule=None, model_score=model_score,
            threshold=self.threshold,
        )  # fmt: skip

    @staticmethod
    def rule(text: str) -> str | None:
        """The name of the first rule that matches the message or one of its readings."""
        for reading in readings(text):
            for name, pattern in RULES:
                if pattern.search(reading):
                    return name
        return None

    def model_scores(self, texts: list[str]) -> list[float]:
        """The classifier's P(injection) per message (rules not applied)."""
        if self.folder is None:
            raise ValueError("this screen has no trained model: InjectionScreen(artifacts_dir / 'injection')")
        self.warm_up()
        scores = message_scores(self.encoder, self._embedding_head, self._chars.positive_probabilities, texts)
        return [float(s) for s in scores]
