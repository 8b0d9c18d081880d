"""The likes model: weak labels, stored reactions, the trained model (small slice), the gate in the API."""

from __future__ import annotations

import re
import shutil

import pytest

from first_line.domain import load_domain
from first_line.likes_data import answers_by_intent, bootstrap_pairs, star_pairs, stored_reaction_pairs
from first_line.likes_model import LikesModel
from tests.conftest import DATA_DIR, DOMAIN_DIR

CARD_ARRIVAL = "I still have not received my new card, when will it arrive?"
CARD_ARRIVAL_BUTTON = {"button": "intent:card_arrival", "text": "My card hasn't arrived"}
"""A click always reaches the scripted answer, whatever the small test classifier thinks of a text."""


def test_bootstrap_pairs_pair_each_message_with_a_right_and_a_wrong_answer(splits, domain):
    examples = [e for e in splits.test if e.intent in answers_by_intent(domain)][:200]
    pairs = bootstrap_pairs(examples, domain)
    assert len(pairs) == 2 * len(examples)
    answers = answers_by_intent(domain)
    for right, wrong in zip(pairs[::2], pairs[1::2], strict=True):
        assert right.text == wrong.text and (right.disliked, wrong.disliked) == (0, 1)
        assert right.answer in answers[right.intent]
        assert wrong.answer not in answers[wrong.intent]


def test_star_pairs_label_turns_of_unhappy_dialogs():
    pairs = star_pairs(DATA_DIR / "star_bank")
    assert {p.disliked for p in pairs} == {0, 1}
    assert all(p.source == "star" and p.weight < 1 for p in pairs)
    assert 0.02 < sum(p.disliked for p in pairs) / len(pairs) < 0.3


def test_trained_model_ranks_wrong_answers_above_right_ones(artifacts_dir, splits, domain):
    from first_line.intent_model import IntentModel

    model = LikesModel(artifacts_dir / "likes", IntentModel(artifacts_dir / "intents").encoder)
    assert model.manifest.metrics["roc_auc_bootstrap"] > 0.8, model.manifest.metrics
    answers = answers_by_intent(domain)
    right = model.p_dislike(CARD_ARRIVAL, [], answers["card_arrival"][0])
    wrong = model.p_dislike(CARD_ARRIVAL, [], answers["exchange_rate"][0])
    assert 0 <= right < wrong <= 1


def test_reactions_posted_through_the_api_become_training_pairs(api, assistant):
    first = api.post(
        "/v1/messages", json={"client_id": "likes-1", "text": "How do I top up my account?"}
    ).json()
    body = api.post(
        "/v1/messages", json={"client_id": "likes-1", "dialog_id": first["dialog_id"], **CARD_ARRIVAL_BUTTON}
    ).json()
    assert body["decision"]["reason"] == "button_click", body
    reaction = {"dialog_id": body["dialog_id"], "message_id": body["reply_message_id"], "reaction": "dislike"}
    assert api.post("/v1/feedback", json=reaction).status_code == 200
    pairs = stored_reaction_pairs(assistant.store.engine)
    assert [(p.text, p.disliked, p.source) for p in pairs] == [(CARD_ARRIVAL_BUTTON["text"], 1, "stored")]
    assert pairs[0].answer == body["reply"]["text"]
    assert pairs[0].context == ("How do I top up my account?",)
    for kind in ("like", "like"):  # the client changes its mind, then taps again: one pair, the last reaction
        assert api.post("/v1/feedback", json=reaction | {"reaction": kind}).status_code == 200
    assert [p.disliked for p in stored_reaction_pairs(assistant.store.engine)] == [0]


def _api_with_threshold(settings, tmp_path, threshold: float):
    from fastapi.testclient import TestClient

    from router.app import create_app
    from router.assistant import Assistant

    folder = tmp_path / "bank"
    shutil.copytree(DOMAIN_DIR, folder)
    config = folder / "domain.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"dislike_threshold: [0-9.]+", f"dislike_threshold: {threshold}", text))
    assert load_domain(folder).settings.policy.dislike_threshold == threshold
    changed = settings.model_copy(update={"domain_dir": folder})
    client = TestClient(create_app(changed, Assistant.load(changed)))
    client.headers["Authorization"] = "Bearer test-client-key"
    return client


def test_predicted_dislike_hands_off_instead_of_answering(settings, tmp_path, api):
    answered = api.post("/v1/messages", json={"client_id": "gate-1", **CARD_ARRIVAL_BUTTON}).json()
    assert answered["decision"]["reason"] == "button_click", answered
    decision = api.get(f"/v1/dialogs/{answered['dialog_id']}").json()["decisions"][0]
    p_dislike = decision["scores"]["p_dislike"]
    assert 0 <= p_dislike <= load_domain(DOMAIN_DIR).settings.policy.dislike_threshold
    # The same message with the gate set just below this answer's P(dislike): an operator takes it.
    with _api_with_threshold(settings, tmp_path, max(round(p_dislike / 2, 6), 1e-6)) as strict:
        body = strict.post("/v1/messages", json={"client_id": "gate-2", **CARD_ARRIVAL_BUTTON}).json()
        assert body["decision"]["kind"] == "handoff" and body["decision"]["reason"] == "predicted_dislike"
        assert body["decision"]["intent"] == "card_arrival"
        assert body["handoff_ticket_id"] is not None
        tickets = strict.get("/v1/handoffs", headers={"Authorization": "Bearer test-operator-key"}).json()
        ticket = next(t for t in tickets if t["ticket_id"] == body["handoff_ticket_id"])
        # The answer variant is picked per dialog, so this dialog's own score is the one to match.
        stored = strict.get(f"/v1/dialogs/{body['dialog_id']}").json()["decisions"][0]["scores"]
        assert stored["p_dislike"] > max(round(p_dislike / 2, 6), 1e-6)
        assert ticket["summary"]["signals"]["p_dislike"] == pytest.approx(stored["p_dislike"], abs=1e-3)
        # The likes model reads MiniLM (English only): a Russian message is answered without the gate.
        russian = strict.post("/v1/messages", json={"client_id": "gate-3", "text": "Где моя новая карта?"})
        assert russian.json()["decision"]["kind"] == "answer", russian.json()["decision"]
        scores = strict.get(f"/v1/dialogs/{russian.json()['dialog_id']}").json()["decisions"][0]["scores"]
        assert "p_dislike" not in scores


def test_likes_model_refuses_an_artifact_of_another_intent_model(artifacts_dir, tmp_path):
    from first_line.artifacts import ArtifactError, load_manifest, write_manifest
    from first_line.intent_model import IntentModel
    from router.client_signals import load_likes_model

    copy = tmp_path / "likes"
    shutil.copytree(artifacts_dir / "likes", copy)
    manifest = load_manifest(copy, "likes")
    write_manifest(copy, manifest.model_copy(update={"depends_on": {"intents": "another"}}))
    with pytest.raises(ArtifactError, match="twoline train likes"):
        load_likes_model(copy, IntentModel(artifacts_dir / "intents"))
