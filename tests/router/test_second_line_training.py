"""The child process that trains the second line in the background: its marker says how it went."""

from __future__ import annotations

import json

import pytest

from router import second_line_training
from router.second_line_training import main, marker_path, pending_state


@pytest.fixture
def bare_settings(tmp_path):
    from router.settings import Settings

    return Settings(artifacts_dir=tmp_path / "artifacts", log_json=False)


def test_a_finished_training_removes_the_marker(bare_settings, monkeypatch):
    monkeypatch.setattr(second_line_training, "train_second_line", lambda settings: ["censor", "index"])
    bare_settings.artifacts_dir.mkdir()
    marker_path(bare_settings).write_text('{"state": "training"}', encoding="utf-8")
    assert pending_state(bare_settings) == "training"
    assert main(bare_settings) == 0
    assert pending_state(bare_settings) is None


def test_a_failed_training_leaves_its_error_in_the_marker(bare_settings, monkeypatch):
    def fail(settings):
        raise RuntimeError("out of disk space")

    monkeypatch.setattr(second_line_training, "train_second_line", fail)
    bare_settings.artifacts_dir.mkdir()
    marker_path(bare_settings).write_text('{"state": "training"}', encoding="utf-8")
    assert main(bare_settings) == 1
    assert pending_state(bare_settings) == "failed"
    assert json.loads(marker_path(bare_settings).read_text())["error"] == "out of disk space"


def test_a_marker_being_written_reads_as_training(bare_settings):
    bare_settings.artifacts_dir.mkdir()
    marker_path(bare_settings).write_text('{"sta', encoding="utf-8")
    assert pending_state(bare_settings) == "training"
