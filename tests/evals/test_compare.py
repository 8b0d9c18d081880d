"""`twoline eval compare`: the regression gate fails on what got worse, and only on that."""

from __future__ import annotations

import json
import subprocess
import sys

from evals.compare import compare_reports, direction_of, flatten

OLD = {
    "intents": {
        "accuracy": 0.93,
        "latency_ms_p50": 3.0,
        "rows": 1000,
        "global_threshold": {"automation": 0.86, "precision": 0.98},
    },
    "tone": {"roc_auc": 0.97, "false_block_rate": 0.02},
}


def test_flatten_keeps_numeric_leaves_by_path():
    leaves = flatten({"a": {"b": 1, "c": [0.5, "x"], "d": True}})
    assert leaves == {"a.b": 1.0, "a.c.0": 0.5}


def test_directions():
    assert direction_of("intents.accuracy") == "higher"
    assert direction_of("tone.false_block_rate") == "lower"
    assert direction_of("tone.block_rate") == "higher"
    assert direction_of("retrieval.fused.recall@5") == "higher"
    assert direction_of("intents.latency_ms_p95") == "lower"
    assert direction_of("intents.rows") == "neutral"
    assert direction_of("intents.curve.0.98.global.automation") == "neutral"


def test_same_report_has_no_regression():
    assert compare_reports(OLD, OLD).regressions == []


def test_small_drop_within_tolerance_passes_and_large_drop_fails():
    new = json.loads(json.dumps(OLD))
    new["intents"]["accuracy"] = 0.925
    assert compare_reports(OLD, new).regressions == []
    new["intents"]["global_threshold"]["automation"] = 0.80
    new["tone"]["false_block_rate"] = 0.05
    worse = {c.key for c in compare_reports(OLD, new).regressions}
    assert worse == {"intents.global_threshold.automation", "tone.false_block_rate"}


def test_latency_is_relative_and_missing_metric_fails():
    new = json.loads(json.dumps(OLD))
    new["intents"]["latency_ms_p50"] = 3.5  # +17 %: noise
    del new["tone"]
    worse = {c.key: c.note for c in compare_reports(OLD, new).regressions}
    assert worse == {"tone.roc_auc": "missing", "tone.false_block_rate": "missing"}
    new["intents"]["latency_ms_p50"] = 4.5
    assert "intents.latency_ms_p50" in {c.key for c in compare_reports(OLD, new).regressions}


def test_cli_exit_codes(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(OLD))
    better = json.loads(json.dumps(OLD))
    better["intents"]["accuracy"] = 0.95
    new.write_text(json.dumps(better))
    command = [sys.executable, "-m", "router.cli", "eval", "compare", str(old), str(new)]
    passed = subprocess.run(command, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stderr
    assert "no regression" in passed.stdout
    failed = subprocess.run([*command[:-2], str(new), str(old)], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "WORSE  intents.accuracy: 0.95 → 0.93" in failed.stdout
    broken = subprocess.run([*command[:-1], str(tmp_path / "nope.json")], capture_output=True, text=True)
    assert broken.returncode == 2
    assert "not a readable JSON report" in broken.stderr
