"""The chat and operator APIs on an encrypted store: clients and operators see the texts, the database
file holds none of them, and the key appears in no log line."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from router.app import create_app
from router.assistant import Assistant
from router.store.encryption import MARKER, generate_key

OPERATOR = {"Authorization": "Bearer test-operator-key"}
CLIENT = {"Authorization": "Bearer test-client-key"}
FIRST = "My card payment at Tesco was declined, card 4111 1111 1111 1111"


def test_api_returns_texts_the_database_keeps_encrypted(settings, caplog):
    key = generate_key()
    encrypted = settings.model_copy(update={"encryption_key": SecretStr(key)})
    caplog.set_level(logging.DEBUG)
    assistant = Assistant.load(encrypted)
    with TestClient(create_app(encrypted, assistant), headers=CLIENT) as api:
        first = api.post("/v1/messages", json={"client_id": "c1", "text": FIRST}).json()
        handed = api.post(
            "/v1/messages",
            json={"client_id": "c1", "dialog_id": first["dialog_id"], "text": "I want a human"},
        ).json()
        dialog = api.get(f"/v1/dialogs/{first['dialog_id']}").json()
        ticket = api.get(f"/v1/handoffs/{handed['handoff_ticket_id']}", headers=OPERATOR).json()
    assert dialog["messages"][0]["text"] == FIRST
    assert [m["text"] for m in ticket["summary"]["last_messages"] if m["role"] == "client"] == [
        FIRST,
        "I want a human",
    ]
    with assistant.store.engine.connect() as connection:
        stored = connection.execute(text("SELECT text FROM messages WHERE role = 'client'")).scalars().all()
        summaries = connection.execute(text("SELECT summary FROM handoff_tickets")).scalars().all()
    assert len(stored) == 2 and all(value.startswith(MARKER) for value in stored)
    assert all("4111" not in value and "Tesco" not in value for value in [*stored, *summaries])
    assert key not in caplog.text
