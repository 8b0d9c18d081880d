"""Rule 6 for a follow-up that says little alone ("how long will it take?"): when the message alone gives no
clarifying question, it is read with the client's previous message in the dialog, and the question offers
the buttons of that reading instead of a hand-off. Real models (the shared fixture's)."""

from __future__ import annotations

import pytest

FOLLOW_UPS = [
    ("I ordered a new card last week", "how long?"),
    ("I topped up my account with my card", "why not there yet"),
    ("I want to send money to my sister abroad", "and what does it cost?"),
]


@pytest.fixture
def policy(assistant):
    return assistant.variants.for_client("follow-up")[0]


def test_an_unsure_follow_up_gets_buttons_from_the_message_before_it(assistant, policy, monkeypatch):
    seen = []
    decide = policy._decide
    monkeypatch.setattr(policy, "_decide", lambda turn: seen.append(decide(turn)) or seen[-1])
    asked_with_previous = 0
    for i, (context, follow_up) in enumerate(FOLLOW_UPS):
        first = assistant.handle(f"follow-up-{i}", context)
        if first.kind == "handoff":
            continue
        result = assistant.handle(f"follow-up-{i}", follow_up, dialog_id=first.dialog_id)
        decision = seen[-1]
        if "read_with_previous" in decision.scores:
            asked_with_previous += 1
            assert result.kind == "clarify" and len(result.buttons) >= 2
            assert decision.pool == decision.scores["pool"][0]
            members = set(assistant.domain.pools[decision.pool].intents)
            assert {b.payload.removeprefix("intent:") for b in result.buttons} <= members
    assert asked_with_previous >= 1, "at least one follow-up alone gave no question and its reading did"


def test_a_first_message_has_no_previous_one(policy):
    from router.policy import Turn

    assert policy._previous_message(Turn(dialog_key="d", text="how long?")) is None
    turn = Turn(
        dialog_key="d",
        text="how long?",
        dialog_turns=[("I ordered a card", "order_physical_card"), (" ", None)],
    )
    assert policy._previous_message(turn) == "I ordered a card"
