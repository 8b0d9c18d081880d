from __future__ import annotations

from collections import Counter

import pytest

from first_line.training_data import Example, data_hash, read_labelled_csv, split_examples


def test_demo_recipe_covers_the_extra_intents(splits):
    intents = Counter(e.intent for e in splits.train + splits.dev + splits.test)
    for extra in (
        "greeting",
        "thanks",
        "goodbye",
        "bot_capabilities",
        "human_operator",
        "out_of_scope",
        "knowledge_question",
    ):
        assert intents[extra] > 0


def test_split_is_stratified_seeded_and_disjoint():
    examples = [Example(f"text {i} of {intent}", intent) for intent in "abc" for i in range(50)]
    first, second = split_examples(examples, seed=1), split_examples(examples, seed=1)
    assert first == second
    for part in (first.dev, first.test):
        assert Counter(e.intent for e in part) == {"a": 5, "b": 5, "c": 5}
    texts = [{e.text for e in part} for part in (first.train, first.dev, first.test)]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert split_examples(examples, seed=2) != first


def test_data_hash_ignores_order_but_not_content():
    examples = [Example("a", "x"), Example("b", "y")]
    assert data_hash(examples) == data_hash(list(reversed(examples)))
    assert data_hash(examples) != data_hash([Example("a", "x"), Example("b", "z")])


def test_csv_reader_names_missing_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("utterance,label\nhi,greeting\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        read_labelled_csv(path)
    path.write_text('text,category\nhi,greeting\n"  ",greeting\n', encoding="utf-8")
    assert read_labelled_csv(path) == [Example("hi", "greeting")]
