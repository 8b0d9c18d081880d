"""Transparent huge pages for the models' weights, asked of glibc when a `twoline` process starts.

The censor reads ~40 MB of weights and stored rows for an answer it is unsure of (MiniLM, E5, the bank-style
rows, the RBF heads' support vectors), in 4 KB pages: more pages than the processor's address-translation
cache holds, so each answer's reads also walk page tables. glibc's `glibc.malloc.hugetlb=1` tunable (glibc
2.35+) makes malloc ask the kernel for 2 MB pages on the large blocks it maps (onnxruntime's weights among
them) where transparent huge pages are in `madvise` mode, Debian's default. Eight alternated runs of
`scripts/bench_censor.py` on one host: 7% less CPU an inappropriate answer, 6% a polite one. A first-line turn
in one process did not change measurably, but a four-worker server under load served 4-10% more turns a second
(three pairs); its resident memory grew 2% (docs/measurements.md, session 42).

glibc reads its tunables when a process starts, so `twoline` starts itself again, once, with the tunable
added (`restart_with_huge_pages`); the processes it starts (server workers, the second line's training)
inherit it. `TWOLINE_HUGE_PAGES=false` leaves the process as it is.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

TUNABLE = "glibc.malloc.hugetlb"
SETTING = f"{TUNABLE}=1"
FIRST_GLIBC = (2, 35)
"""The first glibc with the tunable."""


def has_the_tunable(libc: tuple[str, str] | None = None) -> bool:
    """Linux with glibc 2.35 or newer (`libc`: `platform.libc_ver()`, for the tests)."""
    name, version = libc or platform.libc_ver()
    if not sys.platform.startswith("linux") or name != "glibc":
        return False
    try:
        return tuple(int(part) for part in version.split(".")[:2]) >= FIRST_GLIBC
    except ValueError:
        return False


def _tunables(environ: Mapping[str, str]) -> list[str]:
    """The `name=value` items of `GLIBC_TUNABLES`."""
    return [item for item in environ.get("GLIBC_TUNABLES", "").split(":") if item]


def huge_pages_on(environ: Mapping[str, str] = os.environ) -> bool:
    """This process (or `environ`) runs under the tunable."""
    return SETTING in _tunables(environ)


def environment_with_huge_pages(
    environ: Mapping[str, str], wanted: bool = True, libc: tuple[str, str] | None = None
) -> dict[str, str] | None:
    """`environ` with the tunable added to `GLIBC_TUNABLES`, or None where nothing is to change: not
    `wanted`, no such glibc, or the tunable is there already (set by us or by the operator)."""
    tunables = _tunables(environ)
    if not wanted or not has_the_tunable(libc) or any(item.startswith(f"{TUNABLE}=") for item in tunables):
        return None
    return {**environ, "GLIBC_TUNABLES": ":".join([*tunables, SETTING])}


def started_as_twoline() -> bool:
    """This process is the `twoline` command (its console script, or `python -m router.cli`), not a program
    that calls the CLI in process (a test runner, a notebook), which must never be replaced."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return (spec is not None and spec.name == "router.cli") or Path(sys.argv[0]).name == "twoline"


def restart_with_huge_pages(wanted: bool = True, own_process: bool | None = None) -> None:
    """Replace this `twoline` process with the same command under the tunable (same pid, arguments and
    interpreter options); returns only where nothing is to change. `own_process=True`: a script of this
    repository (a benchmark measuring what the service runs) says the process is its own."""
    environment = environment_with_huge_pages(os.environ, wanted)
    if environment is not None and (started_as_twoline() if own_process is None else own_process):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], environment)
