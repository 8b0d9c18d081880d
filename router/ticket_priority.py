"""How urgent a hand-off ticket is: the operator queue is sorted by this, then newest first.

A ticket's priority is fixed when it opens, from why the dialog was handed off and the client's
VOC-risk score when the summary carries one. Higher is more urgent. Bank-tunable values live here,
in one table, rather than in the queue's SQL.
"""

from __future__ import annotations

REASON_PRIORITY: dict[str, int] = {
    "transfer_only_intent": 40,  # lost or stolen cards, compromised accounts: money at stake
    "high_voc_risk": 30,  # a client likely to leave unhappy
    "operator_requested": 20,  # the client asked for a person
    "predicted_dislike": 20,
    "assistant_error": 20,
}
DEFAULT_PRIORITY = 10
RISK_WEIGHT = 30
"""A client with risk score 1.0 gets this many points on top of the reason's."""


def ticket_priority(reason: str, summary: dict | None) -> int:
    """0..100: the reason's base priority plus the client's risk score (0..1) times RISK_WEIGHT."""
    risk = risk_score(summary or {})
    bonus = round(RISK_WEIGHT * min(max(risk, 0.0), 1.0)) if risk is not None else 0
    return min(100, REASON_PRIORITY.get(reason, DEFAULT_PRIORITY) + bonus)


def risk_score(summary: dict) -> float | None:
    """The client's VOC-risk score from a ticket summary (`risk_score`, or `risk.score`), if any."""
    value = summary.get("risk_score")
    if value is None and isinstance(summary.get("risk"), dict):
        value = summary["risk"].get("score")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
