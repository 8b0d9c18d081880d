"""The chat API through FastAPI's test client, on real models and a real SQLite store."""

from __future__ import annotations

import pytest

from router.store.models import Message

OPERATOR = {"Authorization": "Bearer test-operator-key"}


def send(api, **body):
    body.setdefault("client_id", "client-1")
    return api.post("/v1/messages", json=body)


def stored_messages(assistant) -> int:
    return assistant.store.count_messages()


def test_health_and_readiness_need_no_key(api):
    api.headers.pop("Authorization")
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json()["status"] == "ready"
    metrics = api.get("/metrics").text
    assert "twoline_automation_ratio" in metrics and "twoline_dialogs_left_on_a_question" in metrics


def test_confident_message_gets_the_scripted_answer(api, assistant):
    response = send(api, text="I still have not received my new card, when will it arrive?")
    assert response.status_code == 200
    body = response.json()
    assert body["decision"]["intent"] == "card_arrival"
    assert body["decision"]["kind"] in {"answer", "clarify"}
    assert body["reply"]["text"]
    dialog = api.get(f"/v1/dialogs/{body['dialog_id']}").json()
    assert [m["role"] for m in dialog["messages"]] == ["client", "bot"]
    assert dialog["decisions"][0]["reason"] in {"scripted_answer", "pool_clarification"}
    assert dialog["decisions"][0]["scores"]["top_intents"][0][0] == "card_arrival"


def test_operator_request_hands_off_with_a_ticket_summary(api):
    first = send(api, text="My card payment at Tesco was declined").json()
    response = send(api, text="I want to talk to a human", dialog_id=first["dialog_id"]).json()
    assert response["decision"] == {
        "kind": "handoff",
        "reason": "operator_requested",
        "intent": None,
        "confidence": None,
    }
    assert response["handoff_ticket_id"] is not None
    tickets = api.get("/v1/handoffs", headers=OPERATOR).json()
    ticket = next(t for t in tickets if t["ticket_id"] == response["handoff_ticket_id"])
    assert ticket["reason"] == "operator_requested"
    assert [m["text"] for m in ticket["summary"]["last_messages"] if m["role"] == "client"] == [
        "My card payment at Tesco was declined",
        "I want to talk to a human",
    ]
    assert ticket["summary"]["intents"], "the intents seen in the dialog are summarised"
    # Once handed off, the bot stays quiet and the operator owns the dialog.
    after = send(api, text="hello?", dialog_id=first["dialog_id"]).json()
    assert after["decision"]["reason"] == "with_operator"
    assert after["reply"] is None


def test_russian_operator_request(api):
    body = send(api, text="Позовите оператора, пожалуйста", language="ru").json()
    assert body["decision"]["reason"] == "operator_requested"
    assert "сотрудник" in body["reply"]["text"]


def test_a_russian_message_without_a_language_is_answered_in_russian(api):
    body = send(api, text="Позовите оператора, пожалуйста", client_id="no-profile").json()
    assert body["decision"]["reason"] == "operator_requested"
    assert "сотрудник" in body["reply"]["text"]
    english = send(api, text="I want to talk to a human", client_id="no-profile").json()
    assert english["reply"]["text"].isascii()


@pytest.mark.parametrize(
    ("text", "intent"),
    [("Заблокируйте мою карту, её украли", "lost_or_stolen_card"), ("Спасибо большое!", "thanks")],
)
def test_a_russian_message_is_read_by_the_russian_intent_model(api, text, intent):
    """The English model read these as `out_of_scope`, sure of it, and answered that the bot only helps
    with bank questions."""
    body = send(api, text=text, client_id="ru-client").json()
    assert body["decision"]["intent"] == intent
    assert body["reply"] is None or not body["reply"]["text"].isascii()
    decision = api.get(f"/v1/dialogs/{body['dialog_id']}").json()["decisions"][0]
    assert decision["scores"]["intent_model"] == "russian"
    english = send(api, text="Thanks a lot!", client_id="en-client").json()
    assert (
        "intent_model" not in api.get(f"/v1/dialogs/{english['dialog_id']}").json()["decisions"][0]["scores"]
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [("zablokiruyte moyu kartu, ee ukrali", "lost_or_stolen_card"), ("spasibo bolshoe!", "thanks")],
)
def test_russian_typed_in_latin_letters_is_read_in_cyrillic(api, text, intent):
    """Read as English, "zablokiruyte moyu kartu" was noise to MiniLM; the models now read its Cyrillic
    form, the client is answered in Russian, and the dialog keeps what the client wrote."""
    body = send(api, text=text, client_id="translit-client").json()
    assert body["decision"]["intent"] == intent
    assert body["reply"] is None or not body["reply"]["text"].isascii()
    dialog = api.get(f"/v1/dialogs/{body['dialog_id']}").json()
    assert dialog["messages"][0]["text"] == text
    scores = dialog["decisions"][0]["scores"]
    assert scores["intent_model"] == "russian"
    assert not scores["read_as"].isascii()


def test_a_translit_dialog_reads_its_earlier_messages_in_cyrillic_too(assistant, monkeypatch):
    """The end-of-dialog head and the context read the dialog's earlier translit messages in Cyrillic."""
    first = assistant.handle("translit-dialog", "karta ne prishla")
    seen = []
    policy = assistant.variants.for_client("translit-dialog")[0]
    decide = policy.decide
    monkeypatch.setattr(policy, "decide", lambda turn: seen.append(turn) or decide(turn))
    assistant.handle("translit-dialog", "spasibo", dialog_id=first.dialog_id)
    assert seen[0].text == "спасибо"
    assert [text for text, _ in seen[0].dialog_turns] == ["карта не пришла"]


def test_button_click_continues_as_that_intent(api):
    first = send(api, text="card").json()
    response = send(api, text="", button="intent:card_arrival", dialog_id=first["dialog_id"]).json()
    assert response["decision"]["kind"] == "answer"
    assert response["decision"]["reason"] == "button_click"
    assert response["decision"]["intent"] == "card_arrival"


def test_transfer_only_intent_via_button_hands_off(api):
    response = send(api, text="", button="intent:compromised_card").json()
    assert response["decision"]["kind"] == "handoff"
    assert response["decision"]["reason"] == "transfer_only_intent"


def test_escalated_intent_hands_off_until_the_second_line_exists(api):
    response = send(api, text="", button="intent:knowledge_question").json()
    assert response["decision"]["reason"] == "second_line_unavailable"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "empty_message"),
        ({"text": "   \n "}, 422, "empty_message"),
        ({"text": "\u200b\u200b \ufeff"}, 422, "empty_message"),
        ({"text": "x" * 2001}, 422, "message_too_long"),
        ({"text": 42}, 422, "invalid_request"),
        ({"text": "hi", "client_id": ""}, 422, "invalid_request"),
        ({"text": "hi", "client_id": "a b"}, 422, "invalid_request"),
        ({"text": "hi", "unexpected": 1}, 422, "invalid_request"),
        ({"text": "", "button": "intent:no_such_intent"}, 422, "unknown_button"),
        ({"text": "", "button": "drop table"}, 422, "unknown_button"),
        ({"text": "hi", "dialog_id": "00000000-0000-0000-0000-000000000000"}, 404, "unknown_dialog"),
        ({"text": "hi", "language": "de"}, 422, "invalid_request"),
        ({"text": "hi", "language": 1}, 422, "invalid_request"),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_stores_nothing(api, assistant, body, status, code):
    before = stored_messages(assistant)
    response = send(api, **body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert stored_messages(assistant) == before


@pytest.mark.parametrize(
    ("raw_text", "stored"),
    [("lost my card \\ud83d", "lost my card \ufffd"), ("card\\u0000 stolen", "card\ufffd stolen")],
)
def test_half_an_emoji_or_a_nul_is_kept_as_a_replacement_character(api, raw_text, stored):
    """JSON allows a lone surrogate (an app cutting an emoji in two) and NUL; neither can be stored as sent
    (UTF-8, PostgreSQL), so the message is kept with U+FFFD in their place: answered, not a 500."""
    body = f'{{"client_id": "client-odd", "text": "{raw_text}"}}'.encode()
    response = api.post("/v1/messages", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    dialog = api.get(f"/v1/dialogs/{response.json()['dialog_id']}").json()
    assert dialog["messages"][0]["text"] == stored


def test_not_json_and_oversized_bodies(api, assistant):
    response = api.post("/v1/messages", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_request")
    latin1 = '{"client_id": "c", "text": "caf\xe9"}'.encode("latin-1")  # not UTF-8
    response = api.post("/v1/messages", content=latin1, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_request")
    huge = b'{"client_id": "c", "text": "' + b"a" * assistant.settings.max_request_bytes + b'"}'
    response = api.post("/v1/messages", content=huge, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")
    assert stored_messages(assistant) == 0


def test_another_clients_dialog_is_unknown(api):
    dialog = send(api, text="hello", client_id="alice").json()["dialog_id"]
    response = send(api, text="hello", client_id="mallory", dialog_id=dialog)
    assert response.status_code == 404


def test_keys_are_required_and_separated(api):
    assert send(api, text="hi").status_code == 200
    assert api.get("/v1/handoffs").status_code == 401, "the client key is not an operator key"
    api.headers["Authorization"] = "Bearer wrong"
    response = send(api, text="hi")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
    api.headers.pop("Authorization")
    assert send(api, text="hi").status_code == 401


def test_a_retry_with_the_same_client_message_id_is_answered_not_stored_twice(api, assistant):
    first = send(api, text="How do I top up by card?", client_message_id="m-1").json()
    again = send(api, text="How do I top up by card?", client_message_id="m-1").json()
    assert again["retry"] is True
    assert again["message_id"] == first["message_id"]
    assert again["reply"] == first["reply"]
    assert stored_messages(assistant) == 2
    other = send(api, text="And by bank transfer?", client_message_id="m-1")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "client_message_id_reused")
    assert stored_messages(assistant) == 2


def test_feedback_likes_and_voc(api):
    body = send(api, text="How do I change my PIN?").json()
    assert body["reply_message_id"]
    like = api.post(
        "/v1/feedback",
        json={"dialog_id": body["dialog_id"], "message_id": body["reply_message_id"], "reaction": "like"},
    )
    assert like.status_code == 200
    voc = api.post("/v1/feedback", json={"dialog_id": body["dialog_id"], "voc": 5})
    assert voc.status_code == 200
    assert api.get(f"/v1/dialogs/{body['dialog_id']}").json()["voc_score"] == 5
    for wrong in (9, 0, True, "4", 4.0, None):  # `true` was stored as a VOC of 1
        bad = api.post("/v1/feedback", json={"dialog_id": body["dialog_id"], "voc": wrong})
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request"), wrong
    assert api.get(f"/v1/dialogs/{body['dialog_id']}").json()["voc_score"] == 5
    wrong_message = api.post(
        "/v1/feedback",
        json={"dialog_id": body["dialog_id"], "message_id": body["message_id"], "reaction": "like"},
    )
    assert wrong_message.json()["error"]["code"] == "unknown_message", "a client message cannot be liked"
    missing = api.post("/v1/feedback", json={"dialog_id": "nope", "voc": 3})
    assert missing.json()["error"]["code"] == "unknown_dialog"
    for too_big in (2**63, 2**70):  # past any database's integer: refused, not a 500
        huge = api.post(
            "/v1/feedback",
            json={"dialog_id": body["dialog_id"], "message_id": too_big, "reaction": "like"},
        )
        assert (huge.status_code, huge.json()["error"]["code"]) == (422, "invalid_request")


def test_profile_picks_language_and_register(api):
    profile = {"language": "ru-RU", "age": 22, "gender": "male", "first_name": "Иван"}  # a BCP 47 tag
    assert api.put("/v1/clients/ivan", json=profile).json()["profile"]["language"] == "ru"
    for wrong in ({"age": True}, {"age": "22"}, {"language": "de"}, {"first_name": 7}):
        assert api.put("/v1/clients/ivan", json=wrong).status_code == 422, wrong
    assert send(api, text="hi", language="EN_gb", client_id="anna").status_code == 200
    body = send(api, text="", button="intent:greeting", client_id="ivan").json()
    assert "Иван" in body["reply"]["text"] or any(
        ch in body["reply"]["text"] for ch in "абвгдежзиклмнопрстуфхцчшщыэюя"
    )
    formal = send(api, text="", button="intent:greeting", client_id="anon").json()
    assert formal["reply"]["text"].isascii()


def test_erasing_a_client_deletes_their_dialogs_and_profile(api, assistant):
    api.put("/v1/clients/leaver", json={"language": "en", "first_name": "Maria"})
    dialog = send(api, text="My card 4111 1111 1111 1111 is lost", client_id="leaver").json()["dialog_id"]
    send(api, text="How do I top up?", client_id="stayer")
    assert api.delete("/v1/clients/leaver", headers=OPERATOR).status_code == 401, "the client key only"

    erased = api.delete("/v1/clients/leaver")

    assert erased.status_code == 200
    deleted = erased.json()["deleted"]
    assert (deleted["clients"], deleted["dialogs"], deleted["messages"], deleted["decisions"]) == (1, 1, 2, 1)
    assert api.get(f"/v1/dialogs/{dialog}").json()["error"]["code"] == "unknown_dialog"
    assert assistant.store.client_profile("leaver").first_name is None
    assert stored_messages(assistant) == 2, "the other client's turn stays"
    assert api.delete("/v1/clients/leaver").json()["deleted"]["messages"] == 0, "safe to repeat"
    bad = api.delete("/v1/clients/" + "x" * 65)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")


def test_a_locked_database_is_a_503_to_retry_on_every_endpoint_and_loses_nothing(
    api, assistant, settings, monkeypatch
):
    """Another process holds SQLite's write lock (a backup, a long migration): every write answers 503
    `store_unavailable` with Retry-After, and the message retried afterwards is stored once."""
    import sqlite3

    import router.store.database

    dialog = send(api, text="How do I top up?").json()["dialog_id"]
    monkeypatch.setattr(router.store.database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    assistant.store.engine.dispose()  # new connections wait 0.2 s for the lock, not 10 s
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        writes = [
            send(api, text="Is my transfer done?", dialog_id=dialog, client_message_id="m-7"),
            api.post("/v1/feedback", json={"dialog_id": dialog, "voc": 4}),
            api.put("/v1/clients/client-1", json={"language": "en"}),
            api.delete("/v1/clients/client-1"),
        ]
        for response in writes:
            assert (response.status_code, response.json()["error"]["code"]) == (503, "store_unavailable")
            assert response.headers["Retry-After"] == "1"
        assert api.get(f"/v1/dialogs/{dialog}").status_code == 200, "readers are not blocked (WAL)"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    retried = send(api, text="Is my transfer done?", dialog_id=dialog, client_message_id="m-7")
    assert retried.status_code == 200 and retried.json()["retry"] is False
    assert stored_messages(assistant) == 4


def test_unknown_dialog_view_and_openapi(api):
    assert api.get("/v1/dialogs/nope").json()["error"]["code"] == "unknown_dialog"
    assert "/v1/messages" in api.get("/openapi.json").json()["paths"]
    assert api.get("/no-such-path").json()["error"]["code"] == "not_found"


def test_messages_are_stored_before_the_models_run(api, assistant, monkeypatch):
    """A crash in the models leaves the message stored and the client with an operator."""

    def broken(*_args, **_kwargs):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(assistant.policy.intents, "predict", broken)
    body = send(api, text="Where is my money?").json()
    assert body["decision"]["reason"] == "assistant_error"
    with assistant.store._sessions() as session:
        stored = session.get(Message, body["message_id"])
        assert stored.text == "Where is my money?"


def test_a_message_takes_one_trip_to_the_request_threads(api, monkeypatch):
    """The key check and the assistant lookup run on the event loop, the answer is not re-validated in a
    thread: only the turn runs in the request pool (each trip is a thread wake-up and a GIL hand-over)."""
    import anyio.to_thread

    trips = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        trips.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    response = send(api, text="How do I top up my account with a bank transfer?")
    assert response.status_code == 200 and response.json()["reply"]["text"]
    assert len(trips) == 1, trips
    refused = api.post(
        "/v1/messages", json={"client_id": "client-1", "text": "hello"}, headers={"Authorization": "Bearer x"}
    )
    assert refused.json()["error"]["code"] == "unauthorized"  # refused on the event loop
    assert len(trips) == 1
