"""The hand-off ticket's summary: what an operator needs so as not to re-read the dialog."""

from __future__ import annotations

from router.policy import Decision
from router.store.models import Decision as DecisionRow
from router.store.models import Message

LAST_MESSAGES = 5


def _message(m: Message) -> dict:
    """One message of the summary; a screenshot's recognised text goes with it."""
    ocr = getattr(m, "ocr_text", None)
    return {"role": m.role, "text": m.text} | ({"ocr_text": ocr} if ocr else {})


def handoff_summary(messages: list[Message], decisions: list[DecisionRow], current: Decision) -> dict:
    """Reason, intents seen (with confidence), entities found, the last messages of the dialog."""
    intents: dict[str, float] = {}
    entities: list[dict] = []
    for row in decisions:
        if row.intent:
            intents[row.intent] = max(intents.get(row.intent, 0.0), row.confidence or 0.0)
        entities += (row.scores or {}).get("entities", [])
    if current.intent:
        intents[current.intent] = max(intents.get(current.intent, 0.0), current.confidence or 0.0)
    entities += current.scores.get("entities", [])
    unique_entities = list({(e["kind"], e["value"]): e for e in entities}.values())
    return {
        "reason": current.reason,
        "intents": [
            {"intent": i, "confidence": round(c, 3)} for i, c in sorted(intents.items(), key=lambda x: -x[1])
        ],
        "entities": unique_entities,
        "last_messages": [_message(m) for m in messages[-LAST_MESSAGES:]],
        "signals": {k: v for k, v in current.scores.items() if k in ("voc_risk", "p_dislike", "sentiment")},
        "turns": sum(1 for m in messages if m.role == "client"),
        "ocr_texts": [m.ocr_text for m in messages if getattr(m, "ocr_text", None)],
    }
