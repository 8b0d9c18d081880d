"""The ticket store (claim, release, reply, close) on a real SQLite file and a real PostgreSQL server,
including the claim race: many operators claiming one ticket at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect

from router.policy import Decision
from router.store.dialog_store import DialogStore
from router.store.ticket_store import TicketNotFoundError, TicketStateError, TicketStore
from router.ticket_priority import REASON_PRIORITY, ticket_priority


@pytest.fixture
def stores(store):
    """The dialog store (tests/router/conftest.py: SQLite and PostgreSQL) with its ticket store."""
    return store, TicketStore(store.engine)


def hand_off(
    dialogs: DialogStore, client: str = "c1", reason: str = "operator_requested", summary=None
) -> int:
    accepted = dialogs.accept_message(client, None, "I want a person")
    decision = Decision(kind="handoff", reason=reason, reply="Passing you on")
    return dialogs.record_decision(accepted, decision, 1.0, summary or {"reason": reason}).ticket_id


def test_migration_adds_the_console_columns(stores):
    dialogs, _ = stores
    schema = inspect(dialogs.engine)
    assert {"claimed_at"} <= {c["name"] for c in schema.get_columns("handoff_tickets")}
    assert {"author"} <= {c["name"] for c in schema.get_columns("messages")}


def test_lifecycle(stores):
    dialogs, tickets = stores
    ticket_id = hand_off(dialogs)
    claimed = tickets.claim(ticket_id, "anna")
    assert (claimed.status, claimed.claimed_by) == ("claimed", "anna") and claimed.claimed_at is not None
    message = tickets.reply(ticket_id, "anna", "Hello from Anna")
    update = tickets.dialog_update(claimed.dialog_id, after_message_id=message.id - 1)
    assert [(m.role, m.author, m.text) for m in update.messages] == [("operator", "anna", "Hello from Anna")]
    assert (update.status, update.ticket_status) == ("handed_off", "claimed")
    closed = tickets.close(ticket_id, "anna", "resolved")
    assert (closed.status, closed.outcome, closed.claimed_by) == ("closed", "resolved", "anna")
    assert closed.closed_at is not None
    assert dialogs.dialog(claimed.dialog_id).status == "closed"
    assert tickets.outcome_counts() == {("closed", "resolved"): 1}


def test_refusals(stores):
    dialogs, tickets = stores
    ticket_id = hand_off(dialogs)
    with pytest.raises(TicketStateError) as refused:
        tickets.reply(ticket_id, "anna", "hi")
    assert refused.value.code == "ticket_not_claimed"
    tickets.claim(ticket_id, "anna")
    for action in (
        lambda: tickets.claim(ticket_id, "bob"),
        lambda: tickets.reply(ticket_id, "bob", "hi"),
        lambda: tickets.release(ticket_id, "bob"),
        lambda: tickets.close(ticket_id, "bob", "resolved"),
    ):
        with pytest.raises(TicketStateError) as refused:
            action()
        assert refused.value.code == "ticket_claimed"
    assert tickets.release(ticket_id, "anna").status == "open"
    tickets.claim(ticket_id, "bob")
    tickets.close(ticket_id, "bob", "client_left")
    with pytest.raises(TicketStateError) as refused:
        tickets.claim(ticket_id, "anna")
    assert refused.value.code == "ticket_closed"
    with pytest.raises(TicketNotFoundError):
        tickets.claim(10**6, "anna")
    with pytest.raises(ValueError):
        tickets.close(ticket_id, "bob", "whatever")
    messages, _ = dialogs.dialog_history(tickets.ticket(ticket_id).dialog_id)
    assert [m.role for m in messages] == ["client", "bot"], "no refused reply was stored"


def test_claim_race_has_exactly_one_winner(stores):
    """Eight operators claim each of ten tickets at the same instant: one wins each, the rest get 409."""
    dialogs, tickets = stores
    ticket_ids = [hand_off(dialogs, client=f"c{i}") for i in range(10)]
    operators = [f"op{i}" for i in range(8)]
    for ticket_id in ticket_ids:
        barrier = threading.Barrier(len(operators))

        def claim(name: str, ticket_id: int = ticket_id, barrier: threading.Barrier = barrier) -> str | None:
            barrier.wait()
            try:
                return tickets.claim(ticket_id, name).claimed_by
            except TicketStateError as error:
                assert error.code == "ticket_claimed"
                return None

        with ThreadPoolExecutor(max_workers=len(operators)) as pool:
            results = list(pool.map(claim, operators))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert tickets.ticket(ticket_id).claimed_by == winners[0]


def test_reply_and_close_race_never_stores_a_reply_after_closing(stores):
    """The holder closes while a second browser tab of the same operator keeps replying."""
    dialogs, tickets = stores
    ticket_id = hand_off(dialogs)
    tickets.claim(ticket_id, "anna")
    stored: list[int] = []
    barrier = threading.Barrier(2)

    def replies() -> None:
        barrier.wait()
        for i in range(30):
            try:
                stored.append(tickets.reply(ticket_id, "anna", f"reply {i}").id)
            except TicketStateError:
                return

    def close() -> None:
        barrier.wait()
        tickets.close(ticket_id, "anna", "resolved")

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(replies), pool.submit(close)]:
            future.result()
    ticket = tickets.ticket(ticket_id)
    messages, _ = dialogs.dialog_history(ticket.dialog_id)
    operator_messages = [m for m in messages if m.role == "operator"]
    assert ticket.status == "closed"
    assert [m.id for m in operator_messages] == stored, "every acknowledged reply stored, no refused one"
    with pytest.raises(TicketStateError):
        tickets.reply(ticket_id, "anna", "too late")


def test_returned_to_bot_reopens_the_dialog(stores):
    dialogs, tickets = stores
    ticket_id = hand_off(dialogs)
    tickets.claim(ticket_id, "anna")
    ticket = tickets.close(ticket_id, "anna", "returned_to_bot")
    assert dialogs.dialog(ticket.dialog_id).status == "open"


def test_priority_orders_the_queue(stores):
    dialogs, _ = stores
    calm = hand_off(dialogs, "a", "operator_requested")
    stolen = hand_off(dialogs, "b", "transfer_only_intent")
    risky = hand_off(dialogs, "c", "operator_requested", {"risk_score": 0.9})
    newer = hand_off(dialogs, "d", "operator_requested")
    # risky: 20 + 0.9 * 30 = 47 > stolen card 40 > the two plain requests (20), newest first
    assert [t.id for t in dialogs.handoffs("active")] == [risky, stolen, newer, calm]


def test_priority_rules():
    assert ticket_priority("operator_requested", {}) == REASON_PRIORITY["operator_requested"]
    assert ticket_priority("transfer_only_intent", {"risk_score": 1.0}) == 70
    assert ticket_priority("unsure", {"risk": {"score": 0.5}}) == 25
    assert ticket_priority("unsure", {"risk_score": "n/a"}) == 10
    assert ticket_priority("unsure", {"risk_score": 7}) == 40, "scores are clipped to 0..1"


def test_voc_and_reactions_by_handler(stores):
    dialogs, tickets = stores
    ticket_id = hand_off(dialogs)
    dialogs.add_voc(tickets.ticket(ticket_id).dialog_id, 2)
    accepted = dialogs.accept_message("c2", None, "hi")
    turn = dialogs.record_decision(
        accepted, Decision(kind="answer", reason="scripted_answer", reply="Hi"), 1.0
    )
    dialogs.add_voc(accepted.dialog_id, 5)
    dialogs.add_message_feedback(turn.reply_message_id, "dislike", accepted.dialog_id)
    assert tickets.voc_by_handler() == {"bot": (1, 5.0), "operator": (1, 2.0)}
    assert tickets.reaction_counts() == {"like": 0, "dislike": 1}
    for kind in ("like", "like"):  # a change of mind, then a second tap: the last reaction counts, once
        dialogs.add_message_feedback(turn.reply_message_id, kind, accepted.dialog_id)
    assert tickets.reaction_counts() == {"like": 1, "dislike": 0}
