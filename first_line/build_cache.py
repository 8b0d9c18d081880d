"""Folders built once per machine and kept outside the repository: exported ONNX graphs of the packaged
encoders (`e5_graph.py`, `minilm_export.py`).

A folder lives under `$XDG_CACHE_HOME/twoline/` (else `~/.cache/twoline/`). It is built into a temporary
sibling and renamed into place, so a reader never sees half a folder, and under a file lock, so that of
two processes (two test workers, two `twoline` commands) one builds and the other waits and finds it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/twoline`, else `~/.cache/twoline`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "twoline"


def built_once(
    folder: Path, is_current: Callable[[Path], bool], build: Callable[[Path], None], hint: str = ""
) -> Path:
    """`folder`, after `build(folder)` has (re)built it when `is_current(folder)` is false. `hint` ends the
    error raised when the folder's parent cannot be written (what to set instead)."""
    if is_current(folder):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f"{folder.name}.lock", "w")  # noqa: SIM115 (held across the build)
    except OSError as error:
        raise RuntimeError(f"cannot build {folder} ({error}){'; ' + hint if hint else ''}") from error
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_current(folder):
            build(folder)
    return folder


def replace_folder(folder: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary sibling of `folder` with `fill(work)`, then put it in `folder`'s place."""
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        fill(work)
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
