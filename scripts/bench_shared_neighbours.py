"""Would the service's worker processes gain from sharing the intent neighbour matrix? Four processes
on the machine's cores each loop: read 23 MB (a MiniLM's worth of weights, as a turn does), then one
message's product with a (384 x 10,237) float32 matrix, held privately by each process or memory-mapped
from one file (one physical copy, so one copy in the shared cache). Prints each process's mean product
time in ms, twice per layout.

    .venv/bin/python scripts/bench_shared_neighbours.py

Session 21 (Zen 4, 2 cores; two runs of two rounds): private 1.65-2.05 ms, shared 0.93-1.22 ms.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import numpy as np

DIMENSION, MESSAGES, PROCESSES, LOOPS = 384, 10_237, 4, 400
WEIGHTS_BYTES = 23_000_000


def product_ms(path: Path, shared: bool, results: multiprocessing.Queue) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    matrix = np.load(path, mmap_mode="r") if shared else np.ascontiguousarray(np.load(path))
    weights = np.ones(WEIGHTS_BYTES // 4, dtype=np.float32)
    message = np.random.default_rng(os.getpid()).standard_normal((1, DIMENSION)).astype(np.float32)
    spent = 0.0
    for _ in range(LOOPS):
        weights.sum()
        started = time.perf_counter()
        message @ matrix
        spent += time.perf_counter() - started
    results.put(spent / LOOPS * 1000)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "neighbours_t.npy"
        np.save(path, np.random.default_rng(0).standard_normal((DIMENSION, MESSAGES)).astype(np.float32))
        for shared in (False, True, False, True):
            results: multiprocessing.Queue = multiprocessing.Queue()
            workers = [
                multiprocessing.Process(target=product_ms, args=(path, shared, results))
                for _ in range(PROCESSES)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            times = sorted(round(results.get(), 3) for _ in workers)
            print("shared " if shared else "private", times)


if __name__ == "__main__":
    main()
