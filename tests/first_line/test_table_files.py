"""The tables handed to `twoline train|eval --data`: a spreadsheet's byte-order mark is read, a file in
another encoding is a clear error naming it."""

from __future__ import annotations

import pytest

from evals.tone_eval import read_rows
from first_line.training_data import Example, read_labelled_csv


def test_a_csv_saved_with_a_byte_order_mark_reads_its_first_column(tmp_path):
    intents = tmp_path / "intents.csv"
    intents.write_bytes("text,category\nmy card is lost,lost_or_stolen_card\n".encode("utf-8-sig"))
    assert read_labelled_csv(intents) == [Example("my card is lost", "lost_or_stolen_card")]
    tone = tmp_path / "tone.csv"
    tone.write_bytes("text,label\nyou idiot,1\nthank you for waiting,0\n".encode("utf-8-sig"))
    assert [row["text"] for row in read_rows(tone, "text", "label")] == ["you idiot", "thank you for waiting"]


def test_a_file_that_is_not_utf8_names_itself_and_the_fix(tmp_path):
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes("text,category\nкарта потеряна,lost_or_stolen_card\n".encode("cp1251"))
    with pytest.raises(ValueError, match=r"legacy\.csv: not UTF-8 text .*save it as UTF-8"):
        read_labelled_csv(legacy)
