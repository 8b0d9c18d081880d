"""What a turn reads about its client from the store: the last few messages of the recent days, newest
kept, oldest first, read off the (client_id, created_at) index instead of sorting the client's history.
`store`: tests/router/conftest.py (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from router.store import turn_sql
from router.store.database import create_store_engine, migrate
from router.store.models import Message, utcnow


def test_the_last_messages_since_the_cut_oldest_first(store):
    dialog = None
    for index in range(12):
        accepted = store.accept_message("chatty", dialog, f"message {index}")
        dialog = accepted.dialog_id
        store.accept_message("someone else", None, f"other {index}")
    with store.engine.begin() as connection:  # the first four were written ten days ago
        old = Message.text.in_([f"message {index}" for index in range(4)])
        connection.execute(update(Message).where(old).values(created_at=utcnow() - timedelta(days=10)))
    current = store.accept_message("chatty", dialog, "the message of this turn")

    context = store.turn_context("chatty", current, since=utcnow() - timedelta(days=3), limit=5)
    assert context.recent_texts == [f"message {index}" for index in range(7, 12)]

    context = store.turn_context("chatty", current, since=utcnow() - timedelta(days=3), limit=20)
    assert context.recent_texts == [f"message {index}" for index in range(4, 12)]


def test_sqlite_reads_the_recent_messages_off_the_index_without_sorting(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}", cipher=None)
    migrate(engine)
    statement = turn_sql.RECENT_CLIENT_TEXTS.element.text
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}".replace(":client_id", "'c'")
            .replace(":before", "10")
            .replace(":since", "'2026-01-01'")
            .replace(":limit", "5")
        ).all()
    details = " | ".join(row[-1] for row in plan)
    assert "ix_messages_client_created" in details
    assert "TEMP B-TREE" not in details, details
    engine.dispose()
