"""The chat API with the second line plugged in: a knowledge question gets a cited answer."""

from __future__ import annotations

import time

import pytest

from second_line.config import SecondLineSettings


@pytest.fixture
def rag_api(settings, kb_index):
    from fastapi.testclient import TestClient

    from router.app import create_app
    from router.assistant import Assistant

    settings = settings.model_copy(
        update={"second_line": SecondLineSettings(index_dir=kb_index, backend="extractive", guardrails=False)}
    )
    assistant = Assistant.load(settings)
    assert assistant.policy.second_line is not None
    with TestClient(create_app(settings, assistant)) as client:
        client.headers["Authorization"] = "Bearer test-client-key"
        yield client


def _send(api, text: str, **extra) -> dict:
    response = api.post("/v1/messages", json={"client_id": "c-rag", "text": text, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_knowledge_question_gets_a_cited_answer_and_the_decision_records_the_passages(rag_api):
    body = _send(rag_api, "What is a jumbo loan?", button="intent:knowledge_question")
    assert body["decision"]["kind"] == "answer" and body["decision"]["reason"] == "second_line_answer"
    assert body["decision"]["intent"] == "knowledge_question"
    citations = body["reply"]["citations"]
    assert citations and citations[0]["url"].startswith("https://www.consumerfinance.gov/askcfpb/116/")
    assert f"[{citations[0]['index']}]" in body["reply"]["text"]
    dialog = rag_api.get(f"/v1/dialogs/{body['dialog_id']}").json()
    scores = dialog["decisions"][-1]["scores"]
    assert scores["second_line"]["backend"] == "extractive"
    assert scores["second_line"]["passages"][0]["chunk_id"].startswith("askcfpb:116#")
    retry = _send(
        rag_api,
        "What is a jumbo loan?",
        button="intent:knowledge_question",
        dialog_id=body["dialog_id"],
        client_message_id="m-1",
    )
    again = _send(
        rag_api,
        "What is a jumbo loan?",
        button="intent:knowledge_question",
        dialog_id=body["dialog_id"],
        client_message_id="m-1",
    )
    assert again["retry"] and again["reply"]["citations"] == retry["reply"]["citations"]


def test_a_bare_click_on_the_knowledge_button_answers_the_question_before_it(rag_api):
    """A clarifying question's button carries no text: the second line answers the client's message the
    buttons were offered for (an empty question failed in the injection screen: `second_line_error`)."""
    first = _send(rag_api, "What is a jumbo loan?")
    click = _send(rag_api, "", button="intent:knowledge_question", dialog_id=first["dialog_id"])
    assert click["decision"]["reason"] == "second_line_answer", click["decision"]
    assert click["reply"]["citations"][0]["url"].startswith("https://www.consumerfinance.gov/askcfpb/116/")
    alone = _send(rag_api, "", button="intent:knowledge_question")
    assert alone["decision"]["reason"] != "second_line_error", "a click with nothing before it: its label"


def test_a_knowledge_question_outside_the_knowledge_base_is_handed_off(rag_api):
    body = _send(rag_api, "what is the best banana bread recipe", button="intent:knowledge_question")
    assert body["decision"]["kind"] == "handoff" and body["decision"]["reason"] == "no_relevant_passage"
    assert body["handoff_ticket_id"] is not None


def test_a_typed_knowledge_question_is_escalated_by_the_classifier(rag_api):
    """No button: the intent classifier places an Ask-CFPB-style question as `knowledge_question`."""
    body = _send(rag_api, "What is a jumbo loan?")
    assert body["decision"]["intent"] == "knowledge_question"
    assert body["decision"]["reason"] == "second_line_answer"
    assert body["reply"]["citations"]


@pytest.fixture
def training_settings(settings, kb_index, tmp_path):
    """Settings on an artifacts folder of its own (links to the session's models), so that the marker
    of a background training touches no other test."""
    from router.second_line_training import marker_path

    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    for child in settings.artifacts_dir.iterdir():
        (artifacts / child.name).symlink_to(child)
    settings = settings.model_copy(
        update={
            "artifacts_dir": artifacts,
            "second_line": SecondLineSettings(index_dir=kb_index, backend="extractive", guardrails=False),
        }
    )
    marker_path(settings).write_text('{"state": "training"}', encoding="utf-8")
    return settings


def _second_line_state(api, wanted: str, within_s: float = 60.0) -> str:
    deadline = time.monotonic() + within_s
    while (state := api.get("/readyz").json()["second_line"]) != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
    return state


def test_while_the_second_line_trains_knowledge_questions_go_to_an_operator(training_settings):
    from fastapi.testclient import TestClient

    from router.app import create_app
    from router.assistant import Assistant
    from router.second_line_training import marker_path

    assistant = Assistant.load(training_settings)
    with TestClient(create_app(training_settings, assistant)) as api:
        api.headers["Authorization"] = "Bearer test-client-key"
        ready = api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["second_line"] == "training"
        waiting = _send(api, "What is a jumbo loan?", button="intent:knowledge_question")
        assert waiting["decision"]["kind"] == "handoff"
        assert waiting["decision"]["reason"] == "second_line_unavailable"

        marker_path(training_settings).unlink()  # what the training child does when it is done
        assert _second_line_state(api, "ready") == "ready"
        answered = _send(api, "What is a jumbo loan?", button="intent:knowledge_question")
        assert answered["decision"]["reason"] == "second_line_answer"
        assert answered["reply"]["citations"][0]["url"].startswith(
            "https://www.consumerfinance.gov/askcfpb/116/"
        )


def test_a_failed_background_training_leaves_the_second_line_off(training_settings):
    from fastapi.testclient import TestClient

    from router.app import create_app
    from router.assistant import Assistant
    from router.second_line_training import marker_path

    marker_path(training_settings).write_text('{"state": "failed", "error": "boom"}', encoding="utf-8")
    assistant = Assistant.load(training_settings)
    with TestClient(create_app(training_settings, assistant)) as api:
        api.headers["Authorization"] = "Bearer test-client-key"
        assert _second_line_state(api, "failed", within_s=10) == "failed"
        body = _send(api, "What is a jumbo loan?", button="intent:knowledge_question")
        assert body["decision"]["reason"] == "second_line_unavailable"
    assert assistant.policy.second_line is None
