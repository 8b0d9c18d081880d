"""Folders built once per machine: one build however many callers, a stale folder rebuilt, never half a
folder in place."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from first_line.build_cache import built_once, replace_folder


def stamped(folder: Path, stamp: str) -> bool:
    return (folder / "stamp").is_file() and (folder / "stamp").read_text() == stamp


def test_a_current_folder_is_not_built_again_and_a_stale_one_is(tmp_path):
    builds: list[str] = []

    def build(stamp: str):
        def fill(work: Path) -> None:
            builds.append(stamp)
            (work / "stamp").write_text(stamp)

        return lambda folder: replace_folder(folder, fill)

    folder = tmp_path / "graph"
    for stamp in ("v1", "v1", "v2"):
        assert built_once(folder, lambda f, s=stamp: stamped(f, s), build(stamp)) == folder
    assert builds == ["v1", "v2"]
    assert stamped(folder, "v2")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no work folder left


def test_callers_at_the_same_time_wait_for_one_build(tmp_path):
    folder, builds = tmp_path / "graph", []

    def fill(work: Path) -> None:
        builds.append(1)
        time.sleep(0.3)  # long enough for every caller to reach the lock
        (work / "stamp").write_text("v1")

    def call() -> None:
        built_once(folder, lambda f: stamped(f, "v1"), lambda f: replace_folder(f, fill))

    callers = [threading.Thread(target=call) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert builds == [1]
    assert stamped(folder, "v1")


def test_a_failed_build_leaves_the_old_folder_in_place(tmp_path):
    folder = tmp_path / "graph"
    folder.mkdir()
    (folder / "stamp").write_text("v1")

    def fill(work: Path) -> None:
        (work / "stamp").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        built_once(folder, lambda f: stamped(f, "v2"), lambda f: replace_folder(f, fill))
    assert stamped(folder, "v1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph", "graph.lock"]


def test_an_unwritable_cache_is_a_clear_error_with_the_hint(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(RuntimeError, match=r"cannot build .*; set SOMETHING"):
        built_once(blocker / "graph", lambda f: False, lambda f: None, hint="set SOMETHING")
