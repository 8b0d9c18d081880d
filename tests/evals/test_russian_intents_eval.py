"""`twoline eval intents --language ru` on the slice artifacts: the JSON contract and the comparison with
the English model, which cannot read Russian."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from evals.russian_intents_eval import DEFAULT_DATA
from tests.conftest import cli_environment


def twoline_eval(artifacts_dir, *args: str) -> subprocess.CompletedProcess:
    env = cli_environment(artifacts_dir)
    command = [sys.executable, "-m", "router.cli", "eval", "intents", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_russian_eval_reports_the_model_beside_the_english_one(tmp_path, artifacts_dir):
    with open(DEFAULT_DATA, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[::6]  # every intent's first message, and a few more
    data = tmp_path / "ru.csv"
    with open(data, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "category"])
        writer.writeheader()
        writer.writerows([*rows, {"text": "Какая погода в Сочи?", "category": "weather"}])

    result = twoline_eval(artifacts_dir, "--language", "ru", "--data", str(data), "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] == len(rows) and report["rows_unknown_label"] == 1
    for key in ("macro_f1", "threshold", "automation", "precision", "pools_recovery", "latency_ms_p95"):
        assert key in report
    assert report["accuracy"] > 0.6
    assert report["read_as_translit"] == 0.0, "Cyrillic is read as it is"
    assert report["baseline"]["accuracy"] < 0.2, "MiniLM reads Russian as noise"
    assert report["answered_wrong_rate"] < report["baseline"]["answered_wrong_rate"]
    refused = twoline_eval(artifacts_dir, "--language", "de")
    assert refused.returncode == 2 and "en or ru" in refused.stderr


def test_the_suite_is_in_eval_all_for_the_regression_gate(settings, tmp_path):
    from evals.report import SUITES

    report = SUITES["russian_intents"](settings, True, tmp_path)
    assert report["rows"] > 300 and report["accuracy"] > report["baseline"]["accuracy"]


def test_russian_in_latin_letters_is_read_in_cyrillic_first(settings, tmp_path):
    from evals.report import SUITES

    report = SUITES["translit_intents"](settings, True, tmp_path)
    assert report["rows"] == 320 and report["read_as_translit"] > 0.9
    assert report["accuracy"] > 0.8 > 0.3 > report["baseline"]["accuracy"], "MiniLM reads translit as noise"
    assert report["answered_wrong_rate"] < report["baseline"]["answered_wrong_rate"]
