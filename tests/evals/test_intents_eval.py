"""`twoline eval intents` on the slice model: the JSON contract other tools read, the plot."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np

from evals.intents_eval import frozen_encoder_baseline
from evals.pool_suggestion import suggest_groups
from tests.conftest import cli_environment


def write_csv(path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)


def test_eval_intents_cli_json(tmp_path, artifacts_dir, splits):
    data = tmp_path / "rows.csv"
    rows = [(e.text, e.intent) for e in splits.test] + [("what is the meaning of life", "philosophy")]
    rows.append(("gde moya karta", "card_arrival"))  # Russian in Latin letters: read as Russian
    write_csv(data, rows)
    env = cli_environment(artifacts_dir)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "router.cli",
            "eval",
            "intents",
            "--data",
            str(data),
            "--json",
            "--out",
            str(tmp_path / "report"),
            "--no-baseline",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(result.stdout)
    for key in (
        "accuracy",
        "macro_f1",
        "automation",
        "precision",
        "pools_recovery",
        "latency_ms_p50",
        "latency_ms_p95",
    ):
        assert isinstance(report[key], float), key
    assert set(report["global_threshold"]) >= {"automation", "precision"}
    assert report["rows_unknown_label"] == 1 and report["unknown_labels"] == ["philosophy"]
    assert 0.7 < report["accuracy"] <= 1.0
    assert 0.0 < report["automation"] <= 1.0
    assert report["automation_with_pools"] >= report["automation"]
    assert report["model"]["calibration_rows"] == len(splits.train) + len(splits.dev)  # out-of-fold scores
    assert "gde moya karta" in report["read_as_translit"]["examples"]
    assert report["read_as_translit"]["rate"] < 0.05, report["read_as_translit"]
    assert (tmp_path / "report" / "automation_vs_precision.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "report" / "report.json").read_text())["accuracy"] == report["accuracy"]


def test_frozen_encoder_baseline_on_the_slice(splits):
    baseline = frozen_encoder_baseline(splits, splits.test, 0.95)
    assert 0.6 < baseline["accuracy"] <= 1.0
    assert 0.0 <= baseline["automation"] <= 1.0


def test_pool_suggestion_groups_confused_intents():
    # intents 0 and 1 are confused with each other, 2 and 3 with each other
    labels = np.array([0, 1, 2, 3] * 10)
    probabilities = np.zeros((40, 4))
    for row, label in enumerate(labels):
        partner = {0: 1, 1: 0, 2: 3, 3: 2}[label]
        probabilities[row, label], probabilities[row, partner] = 0.6, 0.4
    groups = suggest_groups(probabilities, labels, ["a", "b", "c", "d"], clusters=2)
    assert sorted(groups) == [["a", "b"], ["c", "d"]]
