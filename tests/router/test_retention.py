"""Retention and erasure (router/store/retention.py) on SQLite and a real PostgreSQL server: what goes,
what stays, and that nothing a client sends meanwhile is lost."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from first_line.responses import ClientProfile
from router.policy import Decision
from router.store.dialog_store import DialogNotFoundError, DialogStore, MessageNotFoundError, StoredReading
from router.store.models import Client, ClientRisk, Dialog, Feedback, HandoffTicket, Message
from router.store.retention import TABLES, drop_stale_readings, forget_client, purge_idle_dialogs
from router.store.risk_scores import RiskScores
from tests.conftest import REPO

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=400)
CUTOFF = NOW - timedelta(days=365)
ANSWER = Decision(kind="answer", reason="scripted_answer", reply="Here is how.", intent="card_arrival")
HANDOFF = Decision(kind="handoff", reason="operator_requested", reply="Passing you on.")


def turn(store: DialogStore, client_id: str, text: str, dialog_id: str | None = None, decision=ANSWER):
    accepted = store.accept_message(client_id, dialog_id, text)
    recorded = store.record_decision(accepted, decision, 1.0, {"reason": decision.reason})
    return accepted, recorded


def age(store: DialogStore, dialog_id: str, when: datetime = LONG_AGO) -> None:
    """Make a dialog look as if nobody wrote to it since `when`."""
    with store.engine.begin() as connection:
        connection.execute(update(Dialog).where(Dialog.id == dialog_id).values(updated_at=when))
        connection.execute(update(Message).where(Message.dialog_id == dialog_id).values(created_at=when))


def age_profile(store: DialogStore, client_id: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(update(Client).where(Client.id == client_id).values(updated_at=LONG_AGO))


def rows(store: DialogStore, model, *where) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_the_purge_deletes_idle_dialogs_and_keeps_work_in_progress(store):
    idle, idle_turn = turn(store, "gone", "Where is my card?")
    store.add_message_feedback(idle_turn.reply_message_id, "like", idle.dialog_id)
    store.add_voc(idle.dialog_id, 5)
    turn(store, "gone", "Talk to a human", idle.dialog_id, HANDOFF)
    with store.engine.begin() as connection:  # the operator closed that ticket long ago
        connection.execute(update(HandoffTicket).values(status="closed"))
    age(store, idle.dialog_id)
    age_profile(store, "gone")
    RiskScores(store.engine).upsert([("gone", 0.7), ("waiting", 0.2)], date.today(), "test")

    waiting, _ = turn(store, "waiting", "I need a human", decision=HANDOFF)  # ticket still open
    age(store, waiting.dialog_id)
    recent, _ = turn(store, "recent", "Top up failed")
    revived, _ = turn(store, "recent", "Old question")
    age(store, revived.dialog_id)
    turn(store, "recent", "and a new one today", revived.dialog_id)  # a message since the cut-off
    store.upsert_client("profile-only", ClientProfile(language="en", first_name="Ann"))
    age_profile(store, "profile-only")

    deleted = purge_idle_dialogs(store.engine, CUTOFF, batch=1)

    assert deleted == {
        "clients": 2,  # "gone" and "profile-only"; "waiting" and "recent" still have dialogs
        "client_risk": 1,
        "dialogs": 1,
        "messages": 4,  # two turns, each a client message and the bot's reply
        "decisions": 2,
        "feedback": 2,
        "handoff_tickets": 1,
    }
    with pytest.raises(DialogNotFoundError):
        store.dialog(idle.dialog_id)
    for dialog_id in (waiting.dialog_id, recent.dialog_id, revived.dialog_id):
        assert store.dialog(dialog_id).id == dialog_id
    assert rows(store, Message, Message.dialog_id == revived.dialog_id) == 4
    assert rows(store, Client, Client.id.in_(["gone", "profile-only"])) == 0
    assert rows(store, ClientRisk) == 1  # "waiting" keeps its score
    assert purge_idle_dialogs(store.engine, CUTOFF) == dict.fromkeys(TABLES, 0)  # nothing more to do


def test_forgetting_a_client_deletes_everything_about_them_and_nothing_else(store):
    store.upsert_client("leaver", ClientProfile(language="en", first_name="Maria"))
    first, first_turn = turn(store, "leaver", "My card 4111 1111 1111 1111 is lost")
    store.add_message_feedback(first_turn.reply_message_id, "dislike", first.dialog_id)
    turn(store, "leaver", "I want an operator", decision=HANDOFF)  # an open ticket goes too
    RiskScores(store.engine).upsert([("leaver", 0.9), ("stayer", 0.1)], date.today(), "test")
    other, _ = turn(store, "stayer", "How do I top up?")

    deleted = forget_client(store.engine, "leaver")

    assert deleted == {
        "clients": 1,
        "client_risk": 1,
        "dialogs": 2,
        "messages": 4,
        "decisions": 2,
        "feedback": 1,
        "handoff_tickets": 1,
    }
    assert rows(store, Message, Message.client_id == "leaver") == 0
    assert rows(store, HandoffTicket, HandoffTicket.client_id == "leaver") == 0
    assert store.client_profile("leaver") == ClientProfile()
    assert rows(store, Message) == 2 and store.dialog(other.dialog_id).client_id == "stayer"
    assert forget_client(store.engine, "leaver") == dict.fromkeys(TABLES, 0)  # repeatable
    again, _ = turn(store, "leaver", "Hello again")  # the client may come back as a new one
    assert store.dialog(again.dialog_id).client_id == "leaver"


def test_a_purged_dialog_refuses_messages_and_feedback_instead_of_losing_them(store):
    accepted, recorded = turn(store, "c1", "Where is my card?")
    age(store, accepted.dialog_id)
    purge_idle_dialogs(store.engine, CUTOFF)
    with pytest.raises(DialogNotFoundError):
        store.accept_message("c1", accepted.dialog_id, "hello?")
    with pytest.raises(MessageNotFoundError):
        store.add_message_feedback(recorded.reply_message_id, "like", accepted.dialog_id)
    with pytest.raises(DialogNotFoundError):
        store.add_voc(accepted.dialog_id, 4)
    assert rows(store, Message) == 0 and rows(store, Feedback) == 0


def test_a_purge_beside_live_traffic_loses_no_message(store):
    """300 idle dialogs purged in batches of 10 while 8 threads write 160 turns into new and old-but-active
    dialogs: every acknowledged message is still there afterwards, and only the idle dialogs went."""
    idle = [turn(store, f"old-{i % 30}", f"old question {i}")[0].dialog_id for i in range(300)]
    for dialog_id in idle:
        age(store, dialog_id)
    active = turn(store, "old-0", "still talking")[0].dialog_id
    acknowledged: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        client_id, dialog_id = ("old-0", active) if i % 4 == 0 else (f"old-{i % 30}", None)
        accepted, recorded = turn(store, client_id, f"new message {i}", dialog_id)
        with lock:
            acknowledged.extend([accepted.message_id, recorded.reply_message_id])

    with ThreadPoolExecutor(max_workers=8) as pool:
        purge = pool.submit(purge_idle_dialogs, store.engine, CUTOFF, 10)
        list(pool.map(write, range(160)))
        deleted = purge.result()

    assert deleted["dialogs"] == 300 and deleted["messages"] == 600
    with store.engine.connect() as connection:
        kept = set(connection.execute(select(Message.id)).scalars())
    assert set(acknowledged) <= kept
    assert len(kept) == 2 + 2 * 160
    assert rows(store, Dialog, Dialog.id.in_(idle)) == 0


def twoline(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "TWOLINE_LOG_JSON": "false"} | env
    return subprocess.run(
        [sys.executable, "-m", "router.cli", "store", *args],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_readings_older_than_the_context_window_are_cleared_and_their_messages_kept(store):
    reading = StoredReading("0123456789abcdef", "AAAAAA==")
    kept = []
    for client, when in (("old", LONG_AGO), ("recent", NOW - timedelta(hours=1))):
        accepted = store.accept_message(client, None, "Where is my card?")
        store.record_decision(accepted, ANSWER, 1.0, None, 0.1, reading)
        with store.engine.begin() as connection:
            written = update(Message).where(Message.id == accepted.message_id)
            connection.execute(written.values(created_at=when))
        kept.append(accepted.message_id)
    assert drop_stale_readings(store.engine, NOW - timedelta(days=3), batch=1) == 1
    assert drop_stale_readings(store.engine, NOW - timedelta(days=3)) == 0  # nothing more to do
    with store.engine.connect() as connection:
        query = select(Message.id, Message.reading_of).where(Message.id.in_(kept))
        stored = dict(connection.execute(query).all())
    assert stored == {kept[0]: None, kept[1]: "0123456789abcdef"}
    assert rows(store, Message, Message.sentiment == 0.1) == 2


def test_the_cli_purges_and_forgets(tmp_path):
    from router.store.database import create_store_engine, migrate

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_store_engine(url)
    migrate(engine)
    store = DialogStore(engine)
    old, _ = turn(store, "old", "Where is my card?")
    age(store, old.dialog_id)
    turn(store, "new", "Top up failed")

    purged = twoline("purge", "--older-than-days", "30", TWOLINE_DATABASE_URL=url)
    assert purged.returncode == 0, purged.stderr
    report = json.loads(purged.stdout[purged.stdout.index("{") :])
    assert report["deleted"]["dialogs"] == 1 and report["deleted"]["messages"] == 2
    assert report["readings_cleared"] == 0  # the old dialog's message went with it
    assert datetime.fromisoformat(report["cutoff"]) < NOW - timedelta(days=29)

    forgot = twoline("forget-client", "new", "--database-url", url)
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(forgot.stdout[forgot.stdout.index("{") :])["deleted"]["messages"] == 2
    assert rows(store, Message) == 0

    assert twoline("purge", "--older-than-days", "0", TWOLINE_DATABASE_URL=url).returncode == 2
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the file past the 10 s busy timeout
    try:
        locked = twoline("forget-client", "old", TWOLINE_DATABASE_URL=url)
    finally:
        holder.execute("ROLLBACK")
    assert locked.returncode == 2 and "became unavailable" in locked.stderr, locked.stderr
    down = twoline(
        "purge", "--older-than-days", "30",
        TWOLINE_DATABASE_URL="postgresql+psycopg://bank:s3cret@127.0.0.1:1/none",
    )  # fmt: skip
    assert down.returncode == 2 and "cannot open the dialog store" in down.stderr
    assert "s3cret" not in down.stderr + down.stdout
