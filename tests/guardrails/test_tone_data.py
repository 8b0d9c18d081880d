"""The censor's bank-style data: every training file is well formed, and no held-out row is trained on."""

from __future__ import annotations

import csv

from guardrails.tone_data import BANK_TRAIN, CATEGORIES, OK, PACKAGE_DATA, load_tone_data, read_tone_csv
from tests.conftest import DATA_DIR, DOMAIN_DIR

HELDOUT = sorted(PACKAGE_DATA.glob("bank_tone_heldout*.csv"))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _answers(texts) -> set[str]:
    """Answers of three words or more: one- and two-word courtesies ("Done.", "Пожалуйста!") recur in
    any bank's chats and are allowed in both."""
    return {_normal(t) for t in texts if len(t.split()) >= 3}


def test_every_training_file_is_read_and_well_formed():
    assert set(BANK_TRAIN) == set(PACKAGE_DATA.glob("bank_tone_train*.csv"))
    languages = set()
    for path in BANK_TRAIN:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and all(row["text"].strip() for row in rows), path.name
        assert {row["label"] for row in rows} == {"0", "1"}, path.name
        assert {row["language"] for row in rows} <= {"en", "ru"}, path.name  # one language or both
        languages |= {row["language"] for row in rows}
        assert {row["category"] for row in rows if row["label"] == "1"} <= set(CATEGORIES), path.name
        assert all(example.category in (OK, *CATEGORIES) for example in read_tone_csv(path))
    assert languages == {"en", "ru"}


def test_no_held_out_answer_is_in_the_training_files():
    held_out = _answers(e.text for path in HELDOUT for e in read_tone_csv(path))
    assert len(HELDOUT) >= 4 and len(held_out) > 900
    for path in BANK_TRAIN:
        overlap = held_out & _answers(e.text for e in read_tone_csv(path))
        assert not overlap, f"{path.name} holds held-out answers: {sorted(overlap)[:3]}"


def test_the_training_data_reads_no_held_out_file():
    held_out = _answers(e.text for path in HELDOUT for e in read_tone_csv(path))
    data = load_tone_data(DATA_DIR, DOMAIN_DIR, scale=1.0)
    assert not held_out & _answers(e.text for e in data.train)


def test_a_bank_share_keeps_that_share_of_every_category_and_language():
    every = [e for e in load_tone_data(DATA_DIR, DOMAIN_DIR, scale=0.05).train if e.source == "bank"]
    kept = [
        e
        for e in load_tone_data(DATA_DIR, DOMAIN_DIR, scale=0.05, bank_share=0.25).train
        if e.source == "bank"
    ]
    again = [
        e
        for e in load_tone_data(DATA_DIR, DOMAIN_DIR, scale=0.05, bank_share=0.25).train
        if e.source == "bank"
    ]
    assert kept == again  # seeded
    assert set(kept) <= set(every)

    def groups(examples):
        counts: dict[tuple[str, str], int] = {}
        for e in examples:
            counts[e.category, e.language] = counts.get((e.category, e.language), 0) + 1
        return counts

    every_groups, kept_groups = groups(every), groups(kept)
    assert kept_groups.keys() == every_groups.keys()
    for group, count in every_groups.items():
        assert abs(kept_groups[group] - count * 0.25) <= 1, group


def test_scripted_answers_are_polite_rows_sentence_by_sentence_and_whole(tmp_path):
    from guardrails.tone_data import _response_texts

    responses = tmp_path / "en.yaml"
    responses.write_text(
        'card_arrival:\n  formal:\n    - "Your card is on its way. Track it in the app."\n'
        '  friendly:\n    - "It\'s on its way!"\n',
        encoding="utf-8",
    )
    rows = _response_texts(responses, "en")
    assert {r.text for r in rows} == {
        "Your card is on its way.",
        "Track it in the app.",
        "Your card is on its way. Track it in the app.",
        "It's on its way!",
    }
    assert {(r.category, r.language, r.source) for r in rows} == {(OK, "en", "demo_responses")}
