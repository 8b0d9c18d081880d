"""One SQLite writer at a time across the service's worker processes, queued in the kernel.

SQLite lets one transaction at a time write a database file. A writer that finds the file taken
gets SQLITE_BUSY and sleeps in SQLite's busy handler in growing steps (1, 2, 5, 10 ms, ...) while
its core idles, even though the holder needs ~0.3 ms. Under the load test (2 workers, 8 clients)
a worker slept ~0.5 times a turn that way. Here writers take an exclusive `flock` on a side file
(`<database>.write-lock`) before their transaction begins and drop it after the commit: a waiting
writer sleeps in the kernel and wakes the moment the lock is free.

The lock only orders writers that use it (the per-turn writes of `DialogStore`); anything else that
writes still meets SQLite's own locking, which remains what keeps the data correct. Reentrant per
thread, so a write path that calls another never waits on itself. PostgreSQL and in-memory
databases get a lock that does nothing.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

_LOCKS: weakref.WeakKeyDictionary[Engine, WriteLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


class WriteLock:
    """`with lock.held():` around a write transaction. `path=None`: a lock that does nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600) if path is not None else None
        self._threads = threading.Lock()
        """`flock` excludes other open files, not other threads sharing this one."""
        self._depth = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        depth = getattr(self._depth, "value", 0)
        if self._fd is None or depth:
            self._depth.value = depth + 1
            try:
                yield
            finally:
                self._depth.value = depth
            return
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth.value = 1
            try:
                yield
            finally:
                self._depth.value = 0
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)


def write_lock_for(engine: Engine) -> WriteLock:
    """The process's one lock for `engine`'s database (two locks on one file in one process would
    make a thread wait on itself)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(engine)
        if lock is None:
            lock = _LOCKS[engine] = WriteLock(_lock_path(engine))
        return lock


def _lock_path(engine: Engine) -> Path | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:") or (url.query or {}).get("mode") == "memory":
        return None
    return Path(f"{url.database}.write-lock")
