"""The dialog store against a real PostgreSQL server (and the same checks on SQLite): the `store` fixture
of tests/router/conftest.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from first_line.responses import ClientProfile
from first_line.text_input import storable_text
from router.policy import Button, Decision
from router.store.dialog_store import ClientMessageIdReusedError, DialogCounts, DialogNotFoundError


def test_schema_has_every_table(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "clients",
        "dialogs",
        "messages",
        "decisions",
        "feedback",
        "handoff_tickets",
        "alembic_version",
    } <= tables


def test_the_migrations_build_exactly_the_models_schema(store):
    """Alembic's autogenerate finds nothing to add or drop: every table, column and index of
    router/store/models.py has its migration (an index declared only on the model would be missing
    from every deployed database)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from router.store.models import Base

    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_turn_is_stored_with_its_decision_and_ticket(store):
    accepted = store.accept_message("c1", None, "My card is lost", language="en")
    decision = Decision(
        kind="handoff", reason="transfer_only_intent", reply="Passing you on", intent="lost_or_stolen_card"
    )
    turn = store.record_decision(accepted, decision, 3.5, {"reason": "transfer_only_intent"})
    messages, decisions = store.dialog_history(accepted.dialog_id)
    assert [m.role for m in messages] == ["client", "bot"]
    assert decisions[0].reason == "transfer_only_intent"
    assert turn.ticket_id is not None
    assert store.dialog(accepted.dialog_id).status == "handed_off"
    assert [t.id for t in store.handoffs()] == [turn.ticket_id]
    assert store.dialog_counts() == DialogCounts(total=1, handed_off=1, left_on_a_question=0)


def test_a_dialog_left_on_the_bots_question_is_not_automated(store):
    """Automation (`/metrics`) counts the dialogs the bot finished: not those an operator took, nor those
    whose last bot turn is a question the client has not answered for 30 minutes."""
    asked = store.accept_message("c1", None, "I tried to pay on the bus")
    request = Decision(kind="clarify", reason="rephrase_request", reply="Could you tell me a little more?")
    store.record_decision(asked, request, 2.0)
    greeted = store.accept_message("c2", None, "hi")
    greeting = Decision(kind="answer", reason="scripted_answer", reply="Hello!", intent="greeting")
    store.record_decision(greeted, greeting, 1.0)
    handed = store.accept_message("c3", None, "a person please")
    handoff = Decision(kind="handoff", reason="operator_requested", reply="Passing you on")
    store.record_decision(handed, handoff, 1.0, {})
    now = datetime.now(UTC)
    assert store.dialog_counts(now) == DialogCounts(3, 1, 0), "asked just now: the client may still answer"
    later = store.dialog_counts(now + timedelta(hours=1))
    assert later == DialogCounts(3, 1, 1)
    assert later.automation == pytest.approx(1 / 3)
    answer = store.accept_message("c1", asked.dialog_id, "my card was declined when I tapped it")
    store.record_decision(answer, greeting.model_copy(update={"intent": "contactless_not_working"}), 1.0)
    assert store.dialog_counts(now + timedelta(hours=1)) == DialogCounts(3, 1, 0), "answered: finished"


def test_every_text_the_api_accepts_is_stored_as_it_was_read(store):
    """A lone surrogate and a NUL are what each store refuses (UTF-8; PostgreSQL's text type):
    `storable_text`, applied to every text the API reads, leaves neither."""
    for sent in ("half an emoji \ud83d", "a nul\x00 inside", "Привет 👋"):
        accepted = store.accept_message("c-odd", None, storable_text(sent), language="en")
        messages, _ = store.dialog_history(accepted.dialog_id)
        assert messages[0].text == storable_text(sent)
        assert "\x00" not in messages[0].text
    store.upsert_client("c-odd", ClientProfile(first_name="An\x00na"))
    assert store.client_profile("c-odd").first_name == "An\ufffdna"


def test_retries_are_recognised(store):
    first = store.accept_message("c1", None, "hi", client_message_id="abc")
    store.record_decision(
        first,
        Decision(
            kind="answer",
            reason="scripted_answer",
            reply="Hello",
            buttons=[Button(label="a", payload="intent:a")],
        ),
        1.0,
    )
    again = store.accept_message("c1", None, "hi", client_message_id="abc")
    assert again.is_retry and again.message_id == first.message_id
    _row, reply, _ = store.recorded_turn(first.message_id)
    assert reply.text == "Hello" and reply.buttons == [{"label": "a", "payload": "intent:a"}]
    other_client = store.accept_message("c2", None, "hi", client_message_id="abc")
    assert not other_client.is_retry
    with pytest.raises(ClientMessageIdReusedError):  # answering "hi" would lose "bye"
        store.accept_message("c1", None, "bye", client_message_id="abc")
    with pytest.raises(ClientMessageIdReusedError):
        store.accept_message("c1", None, "hi", "intent:a", client_message_id="abc")
    assert store.count_messages() == 3


def test_context_is_the_clients_recent_messages_oldest_first(store):
    first = store.accept_message("c1", None, "first")
    store.accept_message("c1", first.dialog_id, "second")
    store.accept_message("c9", None, "someone else")
    third = store.accept_message("c1", None, "third, new dialog")
    since = datetime.now(UTC) - timedelta(days=1)
    assert store.recent_client_texts("c1", since, 5, third.message_id) == ["first", "second"]
    assert store.recent_client_texts("c1", since, 1, third.message_id) == ["second"]
    assert store.recent_client_texts("c1", datetime.now(UTC) + timedelta(days=1), 5, third.message_id) == []


def test_new_dialog_ids_come_from_the_stores_id_maker(store):
    store.new_dialog_id = iter(["dialog-a", "dialog-b"]).__next__
    first = store.accept_message("c1", None, "hello")
    assert first.dialog_id == "dialog-a"
    assert store.accept_message("c1", first.dialog_id, "my card?").dialog_id == "dialog-a"
    assert store.accept_message("c2", None, "hi").dialog_id == "dialog-b"


def test_unknown_and_foreign_dialogs(store):
    with pytest.raises(DialogNotFoundError):
        store.accept_message("c1", "no-such-dialog", "hi")
    mine = store.accept_message("c1", None, "hi")
    with pytest.raises(DialogNotFoundError):
        store.accept_message("c2", mine.dialog_id, "hi")


def test_profiles_and_feedback(store):
    store.upsert_client("c1", ClientProfile(language="ru", age=30, gender="female", first_name="Анна"))
    assert store.client_profile("c1").first_name == "Анна"
    assert store.client_profile("nobody") == ClientProfile()
    accepted = store.accept_message("c1", None, "hi")
    turn = store.record_decision(
        accepted, Decision(kind="answer", reason="scripted_answer", reply="Hello"), 1.0
    )
    assert store.add_message_feedback(turn.reply_message_id, "like", accepted.dialog_id) > 0
    store.add_voc(accepted.dialog_id, 4)
    assert store.dialog(accepted.dialog_id).voc_score == 4


def test_concurrent_writers_lose_nothing(store):
    def write(i: int) -> int:
        accepted = store.accept_message(f"client-{i % 7}", None, f"message {i}")
        store.record_decision(accepted, Decision(kind="answer", reason="scripted_answer", reply="ok"), 1.0)
        return accepted.message_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(write, range(200)))
    assert len(set(ids)) == 200
    assert store.count_messages("client") == 200
    assert store.count_messages("bot") == 200
