"""The SQLite write lock: exclusive across processes and threads, reentrant, absent where not needed."""

from __future__ import annotations

import multiprocessing
import threading
import time

from sqlalchemy import create_engine

from router.store.database import create_store_engine, migrate
from router.store.dialog_store import DialogStore
from router.store.write_lock import WriteLock, write_lock_for

HOLD_SECONDS = 0.5


def _hold(path: str, acquired, release) -> None:
    with WriteLock(path).held():
        acquired.set()
        release.wait(10)


def test_a_writer_in_another_process_waits_until_the_lock_is_dropped(tmp_path):
    path = str(tmp_path / "db.sqlite.write-lock")
    context = multiprocessing.get_context("spawn")
    acquired, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(path, acquired, release))
    holder.start()
    try:
        assert acquired.wait(30), "the other process took the lock"
        threading.Timer(HOLD_SECONDS, release.set).start()
        started = time.monotonic()
        with WriteLock(path).held():
            waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(10)
    assert waited >= HOLD_SECONDS * 0.8


def test_threads_of_one_process_take_turns_and_a_thread_may_reenter(tmp_path):
    lock = WriteLock(tmp_path / "x.write-lock")
    inside, overlaps = [], []

    def write() -> None:
        for _ in range(50):
            with lock.held(), lock.held():  # reentrant: a write path calling another
                inside.append(1)
                overlaps.append(len(inside))
                time.sleep(0.0005)
                inside.pop()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "no thread waits on itself"
    assert max(overlaps) == 1 and len(overlaps) == 200


def test_one_lock_per_database_file_and_none_for_postgres_or_memory(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_store_engine(url, cipher=None)
    assert write_lock_for(engine) is write_lock_for(engine)
    assert write_lock_for(engine).path == tmp_path / "store.db.write-lock"
    assert write_lock_for(create_engine("sqlite://")).path is None
    assert write_lock_for(create_engine("postgresql+psycopg://u@127.0.0.1/db")).path is None


def test_two_store_processes_write_every_message(tmp_path):
    """Two processes accept messages into one SQLite file at once: none is lost or refused."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(create_store_engine(url, cipher=None))
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_accept_messages, args=(url, f"client-{i}", 150)) for i in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    assert DialogStore(create_store_engine(url, cipher=None)).count_messages("client") == 300


def _accept_messages(url: str, client_id: str, count: int) -> None:
    store = DialogStore(create_store_engine(url, cipher=None))
    for i in range(count):
        store.accept_message(client_id, None, f"message {i}", None, None, "en")
