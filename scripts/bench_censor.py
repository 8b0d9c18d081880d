"""Censor cost per answer on one thread, embedding cache off: wall and CPU time (CPU time is the
figure that transfers to an idle core when the machine is shared).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_censor.py [artifacts/censor]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardrails.censor import Censor

ANSWERS = [
    ("Your new card will be sent to your registered address within 5 working days [1]. "
     "You can track it in the app. Is there anything else I can help with?", "en"),
    ("A debt collector must tell you the name of the creditor and the amount owed [2]. "
     "If a collector threatens you, you can file a complaint.", "en"),
    ("Карта придёт в течение 5–7 рабочих дней. Если она не придёт, напишите нам.", "ru"),
    ("You have 60 days from the statement date to dispute a charge [1].", "en"),
]  # fmt: skip


def main(folder: str = "artifacts/censor", repeats: int = 60) -> None:
    censor = Censor(folder, threads=1)
    censor.warm_up()
    censor.encoder.cache_size = 0
    wall, cpu = [], []
    for repeat in range(repeats):
        for text, language in ANSWERS:
            started, started_cpu = time.perf_counter(), time.process_time()
            censor.run(f"{text} Ref {repeat}.", language)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    for name, values in (("wall", sorted(wall)), ("cpu", sorted(cpu))):
        p90 = values[int(len(values) * 0.9)]
        print(f"{name}: p50 {statistics.median(values):.2f} ms  p90 {p90:.2f} ms  (n={len(values)})")


if __name__ == "__main__":
    main(*sys.argv[1:2])
