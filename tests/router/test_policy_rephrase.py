"""Rule 6's last step before an operator: unsure of a message, with no clarifying question to ask and no
knowledge question to escalate, the bot asks the client to say more (not twice in a row); the answer is read
together with the message before it. The real assistant and store; the intent model is made unsure of the
listed messages (and the pools model of every message) and every client reads calm to the sentiment model, so
the rule, not a model's mood, is what is tested."""

from __future__ import annotations

import numpy as np
import pytest

from first_line.follow_up_model import with_previous
from first_line.intent_model import IntentPrediction
from first_line.pools_model import PoolPrediction
from router.policy import REPHRASE_REQUEST, Turn

VAGUE = "I tried to pay on the bus this morning"
STILL_VAGUE = "and then nothing happened at all"


EXPLAINED = "contactless is not working"
CONTRADICTED = "my card is broken"
HALF_EXPLAINED = "tapping does nothing"
UNSURE = IntentPrediction(["card_not_working", "contactless_not_working"], np.array([0.3, 0.2]))
SURE = IntentPrediction(["contactless_not_working", "card_not_working"], np.array([0.995, 0.005]))
SURE_OTHER = IntentPrediction(["card_not_working", "contactless_not_working"], np.array([0.995, 0.005]))
READINGS = {
    VAGUE: UNSURE,
    STILL_VAGUE: UNSURE,
    with_previous(VAGUE, STILL_VAGUE): UNSURE,
    EXPLAINED: SURE,
    with_previous(VAGUE, EXPLAINED): SURE,
    CONTRADICTED: SURE_OTHER,
    with_previous(VAGUE, CONTRADICTED): SURE,
    HALF_EXPLAINED: SURE,
    with_previous(VAGUE, HALF_EXPLAINED): IntentPrediction(
        ["contactless_not_working", "card_not_working"], np.array([0.5, 0.4])
    ),
}


class Scripted:
    """The real intent model, except for the texts in `READINGS`."""

    def __init__(self, model) -> None:
        self.model = model

    def predict(self, text: str, context: list[str] | None = None) -> IntentPrediction:
        return READINGS.get(text) or self.model.predict(text, context)


CALM = 0.1


@pytest.fixture
def policy(assistant, monkeypatch):
    monkeypatch.setattr(assistant.signals, "negativity", lambda text: CALM)
    policy = assistant.variants.for_client("rephrase")[0]
    monkeypatch.setattr(policy, "intents", Scripted(policy.intents))
    monkeypatch.setattr(policy.pools, "predict", lambda text, context=None: PoolPrediction("cards", 0.1))
    return policy


@pytest.fixture
def decisions(policy, monkeypatch):
    seen = []
    decide = policy.decide
    monkeypatch.setattr(policy, "decide", lambda turn: seen.append(decide(turn)) or seen[-1])
    return seen


def test_unsure_with_nothing_to_clarify_asks_to_say_more_not_twice_in_a_row(assistant, policy, decisions):
    first = assistant.handle("rephrase-1", VAGUE)
    assert (first.kind, first.reason) == ("clarify", REPHRASE_REQUEST)
    assert first.reply == assistant.domain.settings.messages["rephrase"]["en"]
    assert [b.payload for b in first.buttons] == ["intent:human_operator"], "a person is one click away"
    assert first.ticket_id is None, "no operator is needed yet"

    second = assistant.handle("rephrase-1", STILL_VAGUE, dialog_id=first.dialog_id)
    read = decisions[-1].scores
    assert read["after_rephrase_request"] is True, "the answer goes on from the message before"
    assert "read_with_previous" in read
    assert (second.kind, second.reason) == ("handoff", "unsure"), "asked just now; then a person"
    assert second.ticket_id is not None


def test_the_answer_is_read_with_the_message_it_explains(assistant, policy, decisions):
    first = assistant.handle("rephrase-2", VAGUE)
    assert first.reason == REPHRASE_REQUEST
    answer = assistant.handle("rephrase-2", EXPLAINED, dialog_id=first.dialog_id)
    assert decisions[-1].scores["after_rephrase_request"] is True
    assert answer.intent == "contactless_not_working", "sure alone, and the same read with the message before"
    assert answer.reason in ("scripted_answer", "predicted_dislike"), "answered, or the likes gate held it"


def test_an_answer_that_reads_otherwise_with_the_message_before_is_not_answered(assistant, policy):
    """As for any follow-up (rule 5): sure alone, but another intent read together with what it explains."""
    first = assistant.handle("rephrase-4", VAGUE)
    second = assistant.handle("rephrase-4", CONTRADICTED, dialog_id=first.dialog_id)
    assert (second.kind, second.reason) == ("handoff", "unsure"), "nothing to ask; asked just now"


def test_an_answer_unsure_read_with_the_message_before_is_not_answered(assistant, policy):
    """The message it explains was one the bot could not read: sure alone is not enough."""
    first = assistant.handle("rephrase-5", VAGUE)
    second = assistant.handle("rephrase-5", HALF_EXPLAINED, dialog_id=first.dialog_id)
    assert second.kind != "answer"


def test_the_operator_button_under_the_request_hands_off(assistant, policy):
    first = assistant.handle("rephrase-3", VAGUE)
    clicked = assistant.handle(
        "rephrase-3", "", dialog_id=first.dialog_id, button_payload="intent:human_operator"
    )
    assert clicked.kind == "handoff" and clicked.ticket_id is not None


def test_an_upset_client_goes_to_a_person_at_once(policy):
    upset = Turn(dialog_key="d", text=VAGUE, negativity=0.9)
    assert (policy.decide(upset).kind, policy.decide(upset).reason) == ("handoff", "unsure")
    calm = Turn(dialog_key="d", text=VAGUE, negativity=CALM)
    assert policy.decide(calm).reason == REPHRASE_REQUEST


def test_a_russian_client_is_asked_in_russian(assistant, policy):
    from first_line.responses import ClientProfile

    turn = Turn(dialog_key="d", text=VAGUE, profile=ClientProfile(language="ru"))
    assert policy.decide(turn).reply == assistant.domain.settings.messages["rephrase"]["ru"]


def test_switched_off_the_unsure_message_goes_to_a_person(policy, monkeypatch):
    monkeypatch.setattr(policy, "policy", policy.policy.model_copy(update={"ask_to_rephrase": False}))
    assert policy.decide(Turn(dialog_key="d", text=VAGUE)).reason == "unsure"
