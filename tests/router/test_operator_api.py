"""The operator's API through FastAPI's test client: claim, release, reply, close, the client's poll,
the demo config and the pages, on real models and a real SQLite store."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from router.app import create_app
from router.settings import DEMO_CLIENT_KEY, DEMO_OPERATOR_KEY

OPERATOR_KEY = {"Authorization": "Bearer test-operator-key"}


def operator(name: str) -> dict[str, str]:
    return OPERATOR_KEY | {"X-Operator": name}


@pytest.fixture
def handed_off(api):
    """A dialog handed to an operator: (dialog_id, ticket_id)."""
    first = api.post("/v1/messages", json={"client_id": "client-7", "text": "my card payment was declined"})
    body = api.post(
        "/v1/messages",
        json={
            "client_id": "client-7",
            "dialog_id": first.json()["dialog_id"],
            "text": "I want to talk to a human",
        },
    ).json()
    assert body["decision"]["kind"] == "handoff"
    return body["dialog_id"], body["handoff_ticket_id"]


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_claim_reply_close_and_the_client_sees_the_reply(api, handed_off):
    dialog_id, ticket = handed_off
    claimed = api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna"))
    assert claimed.status_code == 200
    assert claimed.json()["status"] == "claimed" and claimed.json()["claimed_by"] == "Anna"
    assert api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna")).status_code == 200, "idempotent"

    seen = api.get(f"/v1/dialogs/{dialog_id}/messages").json()
    last_id = seen["messages"][-1]["id"]
    assert seen["status"] == "handed_off" and seen["ticket_status"] == "claimed"

    reply = api.post(
        f"/v1/handoffs/{ticket}/reply", headers=operator("Anna"), json={"text": "Hello, Anna here."}
    )
    assert reply.status_code == 200
    update = api.get(f"/v1/dialogs/{dialog_id}/messages", params={"after": last_id}).json()
    assert [(m["role"], m["text"], m["author"]) for m in update["messages"]] == [
        ("operator", "Hello, Anna here.", "Anna")
    ]
    assert update["messages"][0]["id"] == reply.json()["message_id"]
    full = api.get(f"/v1/dialogs/{dialog_id}").json()
    assert full["messages"][-1]["role"] == "operator", "stored in the dialog itself"

    # The client writes again: the bot stays quiet, the operator sees it.
    again = api.post(
        "/v1/messages", json={"client_id": "client-7", "dialog_id": dialog_id, "text": "thanks!"}
    )
    assert again.json()["decision"]["reason"] == "with_operator"

    closed = api.post(f"/v1/handoffs/{ticket}/close", headers=operator("Anna"), json={"outcome": "resolved"})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "resolved"
    assert closed.json()["closed_at"].endswith("+00:00")
    state = api.get(f"/v1/dialogs/{dialog_id}/messages", params={"after": 10**9}).json()
    assert state == {"dialog_id": dialog_id, "status": "closed", "ticket_status": "closed", "messages": []}
    queue = api.get("/v1/handoffs", params={"status": "active"}, headers=OPERATOR_KEY).json()
    assert ticket not in [t["ticket_id"] for t in queue]
    metrics = api.get("/metrics").text
    assert 'twoline_handoff_tickets{outcome="resolved",status="closed"} 1.0' in metrics


def test_one_operator_per_dialog(api, handed_off):
    _, ticket = handed_off
    assert api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna")).status_code == 200
    refused = api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Bob"))
    assert refused.status_code == 409 and error_code(refused) == "ticket_claimed"
    assert "Anna" in refused.json()["error"]["message"]
    for action, body in (("reply", {"text": "hi"}), ("release", None), ("close", {"outcome": "resolved"})):
        response = api.post(f"/v1/handoffs/{ticket}/{action}", headers=operator("Bob"), json=body)
        assert response.status_code == 409 and error_code(response) == "ticket_claimed", action
    # Anna releases it; now Bob may take it.
    released = api.post(f"/v1/handoffs/{ticket}/release", headers=operator("Anna"))
    assert released.json()["status"] == "open" and released.json()["claimed_by"] is None
    assert api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Bob")).json()["claimed_by"] == "Bob"
    mine = api.get("/v1/handoffs", params={"status": "claimed"}, headers=OPERATOR_KEY).json()
    assert [(t["ticket_id"], t["claimed_by"]) for t in mine] == [(ticket, "Bob")]


def test_wrong_state_errors(api, handed_off):
    _, ticket = handed_off
    for action, body in (("reply", {"text": "hi"}), ("release", None), ("close", {"outcome": "resolved"})):
        response = api.post(f"/v1/handoffs/{ticket}/{action}", headers=operator("Anna"), json=body)
        assert response.status_code == 409 and error_code(response) == "ticket_not_claimed", action
    api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna"))
    api.post(f"/v1/handoffs/{ticket}/close", headers=operator("Anna"), json={"outcome": "unresolved"})
    for action, body in (
        ("claim", None),
        ("reply", {"text": "hi"}),
        ("release", None),
        ("close", {"outcome": "resolved"}),
    ):
        response = api.post(f"/v1/handoffs/{ticket}/{action}", headers=operator("Anna"), json=body)
        assert response.status_code == 409 and error_code(response) == "ticket_closed", action
    assert error_code(api.post("/v1/handoffs/99999/claim", headers=operator("Anna"))) == "unknown_ticket"
    assert api.get(f"/v1/handoffs/{ticket}", headers=OPERATOR_KEY).json()["outcome"] == "unresolved"


def test_a_name_outside_ascii_travels_percent_encoded(api, handed_off):
    """HTTP headers carry Latin-1 only: "Анна Петрова" is sent as UTF-8 percent-encoded (the console's
    encodeURIComponent) and signs the ticket and the reply as written."""
    dialog_id, ticket = handed_off
    name = "Анна Петрова"
    encoded = quote(name)
    assert api.post(f"/v1/handoffs/{ticket}/claim", headers=operator(encoded)).json()["claimed_by"] == name
    api.post(f"/v1/handoffs/{ticket}/reply", headers=operator(encoded), json={"text": "Здравствуйте!"})
    messages = api.get(f"/v1/dialogs/{dialog_id}/messages").json()["messages"]
    assert [m.get("author") for m in messages if m["role"] == "operator"] == [name]
    refused = api.post(f"/v1/handoffs/{ticket}/reply", headers=operator("Anna"), json={"text": "hi"})
    assert error_code(refused) == "ticket_claimed", "another name is another operator"


def test_operator_requests_are_validated(api, handed_off):
    dialog_id, ticket = handed_off
    assert api.post(f"/v1/handoffs/{ticket}/claim", headers={"X-Operator": "Anna"}).status_code == 401, (
        "the client key is not the operator key"
    )
    missing = api.post(f"/v1/handoffs/{ticket}/claim", headers=OPERATOR_KEY)
    assert missing.status_code == 422 and "x-operator" in missing.json()["error"]["message"]
    for odd in ("<script>", "%3Cscript%3E", "%FF%FE", "%20%20", "x" * 65):
        refused = api.post(f"/v1/handoffs/{ticket}/claim", headers=operator(odd))
        assert (refused.status_code, error_code(refused)) == (422, "invalid_request"), odd
        assert "X-Operator" in refused.json()["error"]["message"]
    api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna"))
    for blank in ("  ", "\u200b\ufeff"):
        empty = api.post(f"/v1/handoffs/{ticket}/reply", headers=operator("Anna"), json={"text": blank})
        assert error_code(empty) == "empty_message"
    long = api.post(f"/v1/handoffs/{ticket}/reply", headers=operator("Anna"), json={"text": "x" * 2001})
    assert error_code(long) == "message_too_long"
    bad = api.post(f"/v1/handoffs/{ticket}/close", headers=operator("Anna"), json={"outcome": "great"})
    assert bad.status_code == 422
    assert error_code(api.get("/v1/dialogs/no-such/messages")) == "unknown_dialog"
    assert api.get(f"/v1/handoffs/{2**63}", headers=OPERATOR_KEY).status_code == 422
    assert api.get(f"/v1/dialogs/{dialog_id}/messages?after={2**64}", headers=OPERATOR_KEY).status_code == 422
    assert api.get(f"/v1/dialogs/{dialog_id}/messages", headers=OPERATOR_KEY).status_code == 200


def test_returned_to_bot_reopens_the_dialog_for_the_bot(api, handed_off):
    dialog_id, ticket = handed_off
    api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna"))
    api.post(f"/v1/handoffs/{ticket}/reply", headers=operator("Anna"), json={"text": "Unblocked it for you."})
    closed = api.post(
        f"/v1/handoffs/{ticket}/close", headers=operator("Anna"), json={"outcome": "returned_to_bot"}
    )
    assert closed.json()["outcome"] == "returned_to_bot"
    assert api.get(f"/v1/dialogs/{dialog_id}/messages").json()["status"] == "open"
    after = api.post(
        "/v1/messages",
        json={"client_id": "client-7", "dialog_id": dialog_id, "text": "When will my new card arrive?"},
    ).json()
    assert after["decision"]["reason"] != "with_operator" and after["reply"] is not None


def test_queue_is_most_urgent_then_newest(api):
    asked = api.post("/v1/messages", json={"client_id": "a", "text": "I want to talk to a human"}).json()
    urgent = api.post(
        "/v1/messages", json={"client_id": "b", "text": "", "button": "intent:compromised_card"}
    ).json()
    later = api.post("/v1/messages", json={"client_id": "c", "text": "operator please"}).json()
    assert urgent["decision"]["reason"] == "transfer_only_intent"
    queue = api.get("/v1/handoffs", params={"status": "active"}, headers=OPERATOR_KEY).json()
    assert [t["ticket_id"] for t in queue] == [
        urgent["handoff_ticket_id"],
        later["handoff_ticket_id"],
        asked["handoff_ticket_id"],
    ]
    assert queue[0]["priority"] > queue[1]["priority"] == queue[2]["priority"]


def test_feedback_and_voc_show_in_metrics(api, handed_off):
    dialog_id, ticket = handed_off
    api.post(f"/v1/handoffs/{ticket}/claim", headers=operator("Anna"))
    api.post(f"/v1/handoffs/{ticket}/close", headers=operator("Anna"), json={"outcome": "resolved"})
    assert api.post("/v1/feedback", json={"dialog_id": dialog_id, "voc": 4}).status_code == 200
    bot = api.post(
        "/v1/messages", json={"client_id": "client-8", "text": "", "button": "intent:card_arrival"}
    ).json()
    api.post("/v1/feedback", json={"dialog_id": bot["dialog_id"], "voc": 2})
    api.post(
        "/v1/feedback",
        json={"dialog_id": bot["dialog_id"], "message_id": bot["reply_message_id"], "reaction": "like"},
    )
    metrics = api.get("/metrics").text
    assert 'twoline_voc_mean{handled_by="operator"} 4.0' in metrics
    assert 'twoline_voc_mean{handled_by="bot"} 2.0' in metrics
    assert 'twoline_reactions{kind="like"} 1.0' in metrics


def test_demo_config_only_with_the_demo_keys(api, settings, assistant):
    assert error_code(api.get("/v1/demo-config")) == "not_found"
    demo = settings.model_copy(
        update={
            "client_api_key": SecretStr(DEMO_CLIENT_KEY),
            "operator_api_key": SecretStr(DEMO_OPERATOR_KEY),
        }
    )
    with TestClient(create_app(demo, assistant)) as client:
        config = client.get("/v1/demo-config").json()
    assert config == {"client_api_key": DEMO_CLIENT_KEY, "client_key_is_demo": True}
    assert DEMO_OPERATOR_KEY not in str(config)


def test_pages_are_served_with_a_strict_policy(api):
    api.headers.pop("Authorization")
    chat = api.get("/")
    assert chat.status_code == 200 and "text/html" in chat.headers["content-type"]
    assert "script-src 'self'" in chat.headers["content-security-policy"]
    assert 'id="composer"' in chat.text and 'aria-live="polite"' in chat.text
    console = api.get("/operator")
    assert console.status_code == 200 and 'id="tickets"' in console.text
    for asset in ("chat.js", "operator.js", "common.js", "style.css"):
        assert api.get(f"/static/{asset}").status_code == 200, asset
    assert not re.search(r"<script>[^<]", chat.text + console.text), (
        "no inline scripts (the CSP forbids them)"
    )
    assert "/" not in [route for route in api.get("/openapi.json").json()["paths"]]
