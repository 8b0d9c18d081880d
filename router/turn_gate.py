"""How many turns a worker process computes at once.

A turn is CPU work (the encoder, the heads, the store) under Python's GIL. Past two at a time in one
process they only contend: for the GIL and for SQLite's write lock, whose busy handler sleeps in growing
steps. The gate works with the small request pool (`Settings.request_threads`, router/app.py): the gate
alone bounds the tail, the pool keeps threads outside the gate from convoying on the GIL. Measured with
2 workers on 2 cores, same minutes (README): unbounded, 110 turns/s with p99 1.1 s at 16 clients; with
both (4 threads, 2 slots), 140 turns/s with p99 0.27 s.

A turn that waits on slow work that is not its own CPU (the second line's LLM, bounded by its own
pool and deadline; OCR of a screenshot) gives its slot back while it waits, so a few slow answers
never hold up the first line's quick ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TurnGate:
    """`with gate.turn():` around a turn; `with gate.waiting():` around slow work inside it."""

    def __init__(self, slots: int) -> None:
        """`slots` turns at once; 0 means no limit."""
        self._slots = threading.BoundedSemaphore(slots) if slots > 0 else None
        self._local = threading.local()

    @contextmanager
    def turn(self) -> Iterator[None]:
        if self._slots is None or getattr(self._local, "holding", False):
            yield
            return
        with self._slots:
            self._local.holding = True
            try:
                yield
            finally:
                self._local.holding = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Give the slot back for the duration (a no-op outside `turn()`)."""
        if self._slots is None or not getattr(self._local, "holding", False):
            yield
            return
        self._slots.release()
        self._local.holding = False
        try:
            yield
        finally:
            self._slots.acquire()
            self._local.holding = True


class SlowWorkReleasesSlot:
    """The second line as the policy sees it, giving the turn's slot back while it answers."""

    def __init__(self, answerer, gate: TurnGate) -> None:
        self._answerer = answerer
        self._gate = gate

    def answer(self, *args, **kwargs):
        with self._gate.waiting():
            return self._answerer.answer(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._answerer, name)
