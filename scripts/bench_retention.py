"""How long `twoline store purge` takes, and how long each of its batches holds the store's write lock
(what a turn arriving meanwhile may wait).

    .venv/bin/python scripts/bench_retention.py --dialogs 20000 [--database-url URL] [--drop-fk-indexes]

Fills a fresh store (a temporary SQLite file by default) with dialogs of two turns each (a client
message, the bot's reply, a decision; every tenth a closed hand-off ticket and a like), ages all but a
tenth of them past the cut-off, then purges and prints one JSON object: rows deleted, seconds in all,
dialogs a second, and the batches' lock-holding time p50 / max in ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text, update
from tqdm import tqdm

from router.store import retention
from router.store.database import create_store_engine, migrate
from router.store.models import Client, Decision, Dialog, Feedback, HandoffTicket, Message


def fill(engine, dialogs: int, when: datetime) -> None:
    """Bulk rows in the shape the service writes (one INSERT per table and chunk, not one turn at a time)."""
    chunk = 2000
    with engine.begin() as connection:
        connection.execute(
            insert(Client), [{"id": f"client-{c}", "updated_at": when} for c in range(dialogs // 3 + 1)]
        )
    for start in tqdm(range(0, dialogs, chunk), desc="filling", unit_scale=chunk):
        ids = range(start, min(start + chunk, dialogs))
        with engine.begin() as connection:
            connection.execute(insert(Dialog), [_dialog(i, dialogs, when) for i in ids])
            messages = [_message(i, role, dialogs, when) for i in ids for role in ("client", "bot")]
            connection.execute(insert(Message), messages)
            connection.execute(insert(Decision), [_decision(i) for i in ids])
            tickets = [_ticket(i, dialogs) for i in ids if i % 10 == 5]
            connection.execute(insert(HandoffTicket), tickets)
            likes = [
                {"dialog_id": f"d-{i}", "message_id": 2 * i + 2, "kind": "like"} for i in ids if i % 10 == 5
            ]
            connection.execute(insert(Feedback), likes)


def _dialog(i: int, dialogs: int, when: datetime) -> dict:
    return {
        "id": f"d-{i}",
        "client_id": f"client-{i % (dialogs // 3 + 1)}",
        "status": "closed",
        "updated_at": when,
    }


def _message(i: int, role: str, dialogs: int, when: datetime) -> dict:
    message_id = 2 * i + (1 if role == "client" else 2)
    client_id = f"client-{i % (dialogs // 3 + 1)}"
    text = "Where is my card? It was sent two weeks ago." if role == "client" else "Cards arrive in 5 days."
    return {"id": message_id, "dialog_id": f"d-{i}", "client_id": client_id, "role": role, "text": text,
            "created_at": when}  # fmt: skip


def _decision(i: int) -> dict:
    return {"dialog_id": f"d-{i}", "message_id": 2 * i + 1, "reply_message_id": 2 * i + 2, "kind": "answer",
            "reason": "scripted_answer", "intent": "card_arrival", "scores": {"top_intents": []}}  # fmt: skip


def _ticket(i: int, dialogs: int) -> dict:
    client_id = f"client-{i % (dialogs // 3 + 1)}"
    return {"dialog_id": f"d-{i}", "client_id": client_id, "reason": "operator_requested", "status": "closed",
            "summary": {}}  # fmt: skip


def timed_batches(engine) -> list[float]:
    """Wrap retention's write transaction to time each one (lock held until its commit)."""
    times: list[float] = []
    original = retention._write

    def timed(engine_):
        class Timed:
            def __enter__(self):
                self.inner = original(engine_)
                self.start = time.perf_counter()
                return self.inner.__enter__()

            def __exit__(self, *exc):
                result = self.inner.__exit__(*exc)
                times.append((time.perf_counter() - self.start) * 1000)
                return result

        return Timed()

    retention._write = timed
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogs", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batch", type=int, default=retention.BATCH)
    parser.add_argument(
        "--drop-fk-indexes", action="store_true", help="Without migration 0006's indexes (the before figure)."
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'retention.db'}"
    engine = create_store_engine(url, cipher=None)
    migrate(engine)
    if args.drop_fk_indexes:
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_decisions_reply_message_id"))
            connection.execute(text("DROP INDEX ix_feedback_message_id"))
    now = datetime.now(UTC)
    fill(engine, args.dialogs, now - timedelta(days=400))
    with engine.begin() as connection:  # every tenth dialog is still active
        recent = [f"d-{i}" for i in range(0, args.dialogs, 10)]
        connection.execute(update(Dialog).where(Dialog.id.in_(recent)).values(updated_at=now))
        connection.execute(update(Message).where(Message.dialog_id.in_(recent)).values(created_at=now))
    batches = timed_batches(engine)
    start = time.perf_counter()
    deleted = retention.purge_idle_dialogs(engine, now - timedelta(days=365), batch=args.batch)
    seconds = time.perf_counter() - start
    report = {
        "store": engine.url.get_backend_name(),
        "dialogs_in_store": args.dialogs,
        "deleted": deleted,
        "seconds": round(seconds, 2),
        "dialogs_per_second": round(deleted["dialogs"] / seconds),
        "batches": len(batches),
        "lock_ms_p50": round(statistics.median(batches), 1),
        "lock_ms_max": round(max(batches), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
