"""`twoline eval sentiment`: the client-sentiment model against messages labelled by mood, through the CLI on
the slice artifacts, and the CSV contract."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from evals.sentiment_eval import BLIND_SET, mood_metrics, read_mood_rows
from first_line.domain import load_domain
from tests.conftest import DOMAIN_DIR, cli_environment

ROWS = [
    ("This is outrageous, you blocked my card AGAIN and nobody answers me!!", 1, "strong"),
    ("Вы издеваетесь?! Третий раз пишу, а деньги так и не вернули, позорище", 1, "strong"),
    ("Worst bank ever, you are useless", 1, "rude"),
    ("Hello, could you tell me when my new card will be delivered?", 0, "question"),
    ("Здравствуйте, подскажите, пожалуйста, как поменять PIN-код", 0, "question"),
    ("пополнил счёт вчера, а статус всё ещё ожидание", 0, "problem"),
]


def write_rows(path, rows, header=("text", "label", "kind")) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_the_report_is_per_language_and_kind_with_vader_beside_english(tmp_path, artifacts_dir):
    data = tmp_path / "mood.csv"
    write_rows(data, ROWS)
    command = [sys.executable, "-m", "router.cli", "eval", "sentiment", "--data", str(data), "--json"]
    result = subprocess.run(
        command, env=cli_environment(artifacts_dir), capture_output=True, text=True, timeout=600
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    threshold = load_domain(DOMAIN_DIR).settings.policy.negative_sentiment_threshold
    assert report["rows"] == 6 and report["threshold"] == threshold
    assert set(report["by_language"]) == {"en", "ru"}, "the language is read from the text"
    assert report["by_language"]["en"]["rows"] == 3 and report["by_language"]["ru"]["rows"] == 3
    assert set(report["by_kind"]) == {"strong", "rude", "question", "problem"}
    assert report["by_kind"]["question"]["upset_recall"] is None, "no upset row of that kind"
    assert 0.0 <= report["roc_auc"] <= 1.0
    assert report["baseline_english"]["name"] == "VADER" and report["baseline_english"]["rows"] == 3
    for mistake in report["worst_examples"]:
        assert (mistake["mistake"] == "calm read as upset") == (mistake["score"] >= threshold)


def test_bad_files_get_a_clear_error(tmp_path, artifacts_dir):
    no_label = tmp_path / "no_label.csv"
    write_rows(no_label, [("hello",)], header=("text",))
    with pytest.raises(ValueError, match="missing column"):
        read_mood_rows(no_label)
    bad_label = tmp_path / "bad_label.csv"
    write_rows(bad_label, [("hello", "1", ""), ("fine", "maybe", "")])
    with pytest.raises(ValueError, match="line 3: label 'maybe'"):
        read_mood_rows(bad_label)
    empty = tmp_path / "empty.csv"
    write_rows(empty, [("  ", "0", "")])
    with pytest.raises(ValueError, match="no rows"):
        read_mood_rows(empty)
    command = [sys.executable, "-m", "router.cli", "eval", "sentiment", "--data", str(bad_label)]
    result = subprocess.run(
        command, env=cli_environment(artifacts_dir), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 2 and "maybe" in result.stderr


def test_metrics_count_upset_clients_caught_and_calm_ones_read_as_upset():
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.2, 0.7, 0.3, 0.1, 0.0])
    metrics = mood_metrics(labels, scores, 0.5)
    assert metrics["upset_recall"] == round(2 / 3, 4)
    assert metrics["false_upset_rate"] == 0.25
    assert metrics["roc_auc"] == 0.75  # 9 of the 12 (upset, calm) pairs ranked right
    only_calm = mood_metrics(np.array([0, 0]), np.array([0.1, 0.9]), 0.5)
    assert only_calm["roc_auc"] is None and only_calm["upset_recall"] is None


def test_the_blind_set_holds_both_moods_in_both_languages():
    rows = read_mood_rows(BLIND_SET)
    groups = {(r["language"], r["label"]) for r in rows}
    assert groups == {("en", 0), ("en", 1), ("ru", 0), ("ru", 1)}
    assert len(rows) == 400
