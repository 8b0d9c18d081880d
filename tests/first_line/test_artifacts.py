from __future__ import annotations

import pytest

from first_line.artifacts import new_version


def test_new_version_replaces_the_artifact_on_success(tmp_path):
    target = tmp_path / "pools"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with new_version(target) as work:
        (work / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["pools"], "no work or .old folders left behind"


def test_new_version_leaves_the_artifact_untouched_on_failure(tmp_path):
    target = tmp_path / "pools"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), new_version(target) as work:
        (work / "half.txt").write_text("half")
        raise RuntimeError("training crashed")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["pools"]
