"""`twoline eval dialogs`: dialogs replayed through the real app, counted as the business counts them."""

from __future__ import annotations

import pytest

from evals.dialog_replay import (
    ReplayDialog,
    ReplayTurn,
    composed_dialogs,
    read_dialogs,
    replay_dialogs,
    write_dialogs,
)
from first_line.training_data import Example


def test_replay_counts_handoffs_answers_and_latency(tmp_path, settings, splits):
    question = next(e for e in splits.test if e.intent == "card_arrival")
    dialogs = [
        ReplayDialog(
            id="card",
            turns=[ReplayTurn(text="hello"), ReplayTurn(text=question.text, intent="card_arrival")],
        ),
        ReplayDialog(id="human", turns=[ReplayTurn(text="I want to talk to a real person please")]),
    ]
    path = write_dialogs(dialogs, tmp_path / "dialogs.jsonl")
    report = replay_dialogs(settings, read_dialogs(path), progress=False)
    assert report["dialogs"] == 2
    assert report["handoffs_by_reason"].get("operator_requested") == 1
    assert report["automation"] <= 0.5
    assert 3 <= report["turns"] <= 4  # a clarification click adds a turn
    assert report["latency_ms_p95"] >= report["latency_ms_p50"] > 0
    if report["precision_answered"] is not None:
        wrong = len(report["wrong_answers"])
        assert (report["precision_answered"] == 1.0) == (wrong == 0)
    assert report["handoffs"] + report["answered_turns"] + report["clarifications_unresolved"] >= 2


def test_csv_rows_are_single_question_dialogs(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("text,category\nwhere is my card,card_arrival\n ,empty\n", encoding="utf-8")
    dialogs = read_dialogs(path)
    assert [d.turns[0].intent for d in dialogs] == ["card_arrival"]


def test_follow_up_rows_are_two_turn_dialogs(tmp_path):
    path = tmp_path / "follow_ups.csv"
    path.write_text("context,text,category\nI ordered a card,how long?,card_delivery_estimate\n", "utf-8")
    [dialog] = read_dialogs(path)
    assert [(t.text, t.intent) for t in dialog.turns] == [
        ("I ordered a card", None),
        ("how long?", "card_delivery_estimate"),
    ]


def test_a_question_to_a_turn_of_unknown_intent_does_not_end_the_dialog(settings, splits):
    """A follow-up's context message has no label: if the bot asks about it, the client writes on. So every
    dialog sends its second turn unless the first was handed off."""
    question = ReplayTurn(
        text=next(e for e in splits.test if e.intent == "card_arrival").text, intent="card_arrival"
    )
    vague = ["card", "problem with my card", "transfer"]
    dialogs = [
        ReplayDialog(id=f"vague-{i}", turns=[ReplayTurn(text=t), question]) for i, t in enumerate(vague)
    ]
    report = replay_dialogs(settings, dialogs, progress=False)
    assert report["turns"] >= 2 * len(vague) - report["handoffs"], report


def test_broken_jsonl_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "turns": [{"text": "hi"}]}\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a dialog"):
        read_dialogs(path)


def test_composed_dialogs_come_from_the_held_out_rows_only():
    held_out = [Example("hi there", "greeting"), Example("thank you", "thanks")] + [
        Example(f"question {i}", "card_arrival") for i in range(10)
    ]
    dialogs = composed_dialogs(held_out, singles=4, composed=5)
    texts = {t.text for d in dialogs for t in d.turns}
    assert texts <= {e.text for e in held_out}
    assert len(dialogs) == 9
    assert all(d.turns[-1].intent == "thanks" for d in dialogs[4:])


def test_seeded_dialog_ids_repeat_so_the_replay_repeats():
    """The dialog id picks a dialog's answer variants, which the likes gate reads: random ids moved the
    replay's hand-offs from run to run."""
    import uuid

    from evals.dialog_replay import seeded_dialog_ids

    first, again, other = seeded_dialog_ids(1), seeded_dialog_ids(1), seeded_dialog_ids(2)
    ids = [first() for _ in range(50)]
    assert ids == [again() for _ in range(50)]
    assert len(set(ids)) == 50 and ids[0] != other()
    assert all(uuid.UUID(i).version == 4 for i in ids)
