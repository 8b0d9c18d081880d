"""How many worker processes `twoline serve` runs when `TWOLINE_WORKERS` is not set: one per CPU core it may
use, as far as memory allows.

A turn is CPU work in Python and onnxruntime, and one process runs its Python on one core at a time (the
GIL), so one worker leaves a second core mostly idle. More workers than cores only queue turns behind each
other. Measured on a 2-core Intel Xeon (session 50, `scripts/load_test.py --requests 3000 --concurrency 8
--requests-per-connection 50`, new texts every run): 1 worker 136-148 turns/s, 2 workers 177-195 (p99
under 100 ms), 4 workers 158-192 with p99 110-132 ms and ~1 ms more server CPU a turn.

Each worker loads every model: ~1.9 GB resident. `WORKER_MEMORY_BYTES` keeps room for that and a little
growth, so a machine with many cores and little memory gets fewer workers instead of swapping."""

from __future__ import annotations

import os
from pathlib import Path

WORKER_MEMORY_BYTES = 5 * 2**30 // 2
"""Memory to set aside per worker: ~1.9 GB resident with every model loaded (the first line, OCR, the
second line on its embedded model), plus caches and headroom."""
MAX_DEFAULT_WORKERS = 8
"""Beyond this, set `TWOLINE_WORKERS` deliberately (a big host usually runs several services)."""


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, as a container's cpuset limits it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """`MemAvailable` in bytes, or None where the kernel does not say."""
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_workers(cores: int | None = None, memory: int | None = None) -> int:
    """One worker per usable core, at most `MAX_DEFAULT_WORKERS` and at most as many as the available memory
    holds (always at least one). `cores` and `memory` default to this machine's."""
    cores = usable_cores() if cores is None else cores
    memory = available_memory() if memory is None else memory
    workers = min(cores, MAX_DEFAULT_WORKERS)
    if memory is not None:
        workers = min(workers, memory // WORKER_MEMORY_BYTES)
    return max(1, workers)
