"""The turn gate: at most N turns compute at once; a turn waiting on slow work gives its slot back."""

from __future__ import annotations

import threading
import time

from router.turn_gate import SlowWorkReleasesSlot, TurnGate


def _run_turns(gate: TurnGate, count: int, body) -> int:
    """Start `count` threads that each run `body` inside a turn; the most that were inside at once."""
    inside, most, lock = 0, 0, threading.Lock()

    def one() -> None:
        nonlocal inside, most
        with gate.turn():
            with lock:
                inside += 1
                most = max(most, inside)
            body()
            with lock:
                inside -= 1

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    return most


def test_at_most_the_configured_number_of_turns_run_at_once():
    assert _run_turns(TurnGate(2), 8, lambda: time.sleep(0.05)) == 2


def test_zero_slots_means_no_limit():
    barrier = threading.Barrier(6, timeout=5)
    assert _run_turns(TurnGate(0), 6, barrier.wait) == 6


def test_a_turn_waiting_on_slow_work_lets_another_turn_in():
    gate = TurnGate(1)
    slow_started, quick_done = threading.Event(), threading.Event()

    def slow() -> None:
        with gate.turn(), gate.waiting():
            slow_started.set()
            assert quick_done.wait(timeout=5), "the quick turn was held up by the slow one"

    def quick() -> None:
        slow_started.wait(timeout=5)
        with gate.turn():
            quick_done.set()

    threads = [threading.Thread(target=slow), threading.Thread(target=quick)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert quick_done.is_set()
    with gate.turn(), gate.turn():  # the slot is free again; re-entrant in one thread, no deadlock
        pass


def test_waiting_outside_a_turn_changes_nothing():
    gate = TurnGate(1)
    with gate.waiting():
        pass
    with gate.turn():
        pass


def test_the_second_line_gives_its_slot_back_while_it_answers():
    gate = TurnGate(1)
    held = []

    class Answerer:
        name = "test"

        def answer(self, turn):
            held.append(gate._local.holding)
            return f"answer to {turn}"

    wrapped = SlowWorkReleasesSlot(Answerer(), gate)
    with gate.turn():
        assert wrapped.answer("q") == "answer to q"
        assert gate._local.holding
    assert held == [False] and wrapped.name == "test"
